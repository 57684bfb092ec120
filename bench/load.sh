#!/usr/bin/env bash
# Load benchmark of `folio serve` with wrk (Debian package): creates of ~2 KB and ~20 KB
# documents at 1, 8 and 50 connections, then library listing, and the server's + workers' RSS.
#
# usage: bench/load.sh [path/to/folio] [seconds per run]
# Prints a Markdown table; BENCHMARKS.md records a run. Load spreads over 8 identities, and the
# per-identity rate limits are raised (--creates-per-minute) so that they do not cap the run.
set -euo pipefail
folio="${1:-target/release/folio}"
secs="${2:-15}"
command -v wrk >/dev/null || { echo "error: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "error: python3 is needed for the corpus" >&2; exit 1; }
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

python3 "$here/../../shared/bench/gen_corpus.py" "$work/corpus" >/dev/null
"$folio" serve --data-dir "$work/data" --listen 127.0.0.1:0 --creates-per-minute 1000000 \
    --previews-per-minute 1000000 >"$work/url" 2>"$work/server.log" &
server=$!
for _ in $(seq 50); do [ -s "$work/url" ] && break; sleep 0.1; done
url="$(awk '{print $NF}' "$work/url")"

tokens=()
for i in $(seq 8); do
  body="{\"email\":\"load$i@example.com\",\"password\":\"correct horse battery\"}"
  curl -sf -o /dev/null -H 'content-type: application/json' -d "$body" "$url/api/auth/register"
  tokens+=("$(curl -sf -H 'content-type: application/json' -d "$body" "$url/api/auth/login" \
    | python3 -c 'import sys,json; print(json.load(sys.stdin)["access_token"])')")
done

# A wrk script that POSTs one document, rotating over the identities.
lua() {  # $1 = markdown file
  python3 - "$1" "${tokens[@]}" >"$work/post.lua" <<'PY'
import json, sys
md = open(sys.argv[1]).read()
body = json.dumps({"markdown": md})
tokens = sys.argv[2:]
print('wrk.method = "POST"')
print('wrk.headers["Content-Type"] = "application/json"')
print('wrk.body = ' + json.dumps(body))
print('local tokens = {' + ",".join(json.dumps(t) for t in tokens) + '}')
print('local n = 0')
print('request = function() n = n + 1; wrk.headers["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1]; return wrk.format() end')
PY
}

# Requests to a route so far, by status: "201:1234 503:56".
statuses() {  # method, route
  curl -s "$url/metrics" | awk -v m="$1" -v r="$2" '
    $1 ~ "^folio_http_requests_total" && index($1, "method=\"" m "\"") && index($1, "route=\"" r "\"") {
      match($1, /status="[0-9]+"/); s = substr($1, RSTART + 8, 3); n[s] += $2
    }
    END { for (s in n) printf "%s:%d ", s, n[s] }'
}

# The difference of two `statuses` snapshots.
delta() {
  python3 - "$1" "$2" <<'PY'
import sys
parse = lambda t: {k: int(v) for k, v in (p.split(":") for p in t.split())}
before, after = parse(sys.argv[1]), parse(sys.argv[2])
print(" ".join(f"{k}: {after[k] - before.get(k, 0)}" for k in sorted(after) if after[k] != before.get(k, 0)))
PY
}

row() {  # label, connections, script
  before="$(statuses "$method" "$route")"
  threads=$(( $2 < 2 ? $2 : 2 ))  # wrk needs at least one connection per thread
  out="$(wrk -t"$threads" -c"$2" -d"${secs}s" --timeout 60s --latency -s "$3" "$4" 2>&1 || true)"
  rps="$(echo "$out" | awk '/Requests\/sec/ {print $2}')"
  p50="$(echo "$out" | awk '$1=="50%" {print $2}')"
  p99="$(echo "$out" | awk '$1=="99%" {print $2}')"
  codes="$(delta "$before" "$(statuses "$method" "$route")")"
  total="$(echo "$out" | awk '/requests in/ {print $1}')"
  bad="$(echo "$out" | awk '/Non-2xx/ {print $NF}')"
  ok_rps="$(python3 -c "print(f'{(${total:-0} - ${bad:-0}) / $secs:.1f}')")"
  rss="$(ps -o rss= --ppid "$server" -p "$server" | awk '{s+=$1} END {printf "%.0f", s/1024}')"
  echo "| $1 | $2 | $rps | $ok_rps | $p50 | $p99 | $codes | $rss MB |"
}

echo "| run | connections | answers/s | 2xx/s | p50 | p99 | statuses | server + workers RSS |"
echo "|---|---|---|---|---|---|---|---|"
method=POST route=/api/documents
for size in small medium; do
  lua "$work/corpus/$size.md"
  label="create $( [ "$size" = small ] && echo 2 KB || echo 20 KB )"
  for c in 1 8 50; do row "$label" "$c" "$work/post.lua" "$url/api/documents"; done
done
cat >"$work/get.lua" <<LUA
wrk.headers["Authorization"] = "Bearer ${tokens[1]}"
LUA
docs="$(curl -s "$url/metrics" | awk '/^folio_http_requests_total.*route="\/api\/documents".*status="201"/ {s+=$NF} END {print s}')"
method=GET
row "list 20 (of ~$((docs / 8)) per identity)" 8 "$work/get.lua" "$url/api/documents?limit=20"
echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%Y-%m-%d)"
