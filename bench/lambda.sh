#!/usr/bin/env bash
# Cold starts of the AWS shape's functions (issue 15), as Lambda starts them, on this machine:
# for each function, spawn `folio lambda <function>` under a Runtime API served by
# bench/lambda_cold_start.py and time spawn -> its first `GET /next` (init), then one event ->
# its answer (the first invocation: a 2 KB create for api and create). moto's server stands in
# for DynamoDB, Cognito and S3 on 127.0.0.1, started here on a free port.
#
# usage: bench/lambda.sh [folio binary, default target/release/folio built with --features aws]
# needs: moto's server and boto3 (`pip install -r .ci/requirements-moto.txt`; $FOLIO_BENCH_VENV
# names a venv that has them, else they must be on PATH). RUNS=10 by default.
set -euo pipefail
folio="${1:-target/release/folio}"
venv="${FOLIO_BENCH_VENV:-}"
python="${venv:+$venv/bin/}python3"
moto_server="${venv:+$venv/bin/}moto_server"
command -v "$moto_server" >/dev/null || { echo "error: moto_server is not installed (see the header of $0)" >&2; exit 1; }
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
cleanup() { [ -e "$work/moto.pid" ] && kill "$(cat "$work/moto.pid")" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$moto_server" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
echo $! >"$work/moto.pid"
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
MOTO_URL="http://127.0.0.1:$port" "$python" "$here/lambda_cold_start.py" "$folio"
