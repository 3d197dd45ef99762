#!/bin/bash
# api_load.sh: requests a second of GET /api/v1/jobs/default/j1 on an idle
# daemon, with wrk (Debian package wrk: apt-get install wrk).
#
#     bench/api_load.sh [CONNECTIONS [SECONDS [THREADS]]]     (default 64, 10, 2)
#
# Starts build/chime serve on a free loopback port with a fresh data
# directory, puts one manual job, warms up for 1 s, runs wrk, and stops the
# daemon it started. wrk runs on the same machine, so it takes a share of
# the same cores. Prints the machine it ran on. Not a test: figures go to
# bench/README.md. Network: 127.0.0.1 only.
set -euo pipefail

conns=${1:-64}
secs=${2:-10}
threads=${3:-2}
here=$(cd "$(dirname "$0")" && pwd)
chime=${CHIME_BIN:-$here/../build/chime}
py=/usr/bin/python3

if ! command -v wrk >/dev/null; then
    echo "wrk is missing: apt-get install wrk" >&2
    exit 1
fi
[ -x "$chime" ] || { echo "$chime is missing: make" >&2; exit 1; }

model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "machine: ${model:-unknown cpu}, $(nproc) cores, $(uname -srm); $(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2)"

tmp=$(mktemp -d /tmp/chime-bench-api.XXXXXX)
pid=
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

port=$($py -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
TZ=UTC "$chime" serve --data-dir "$tmp/data" --listen "127.0.0.1:$port" >"$tmp/daemon.log" 2>&1 &
pid=$!
for _ in $(seq 150); do
    curl -fsS "$url/healthz" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { cat "$tmp/daemon.log" >&2; exit 1; }
    sleep 0.1
done
auth="Authorization: Bearer $(cat "$tmp/data/admin.token")"   # written before /healthz answers
curl -fsS -o /dev/null -H "$auth" -H 'Content-Type: application/json' -X POST "$url/api/v1/jobs" \
    -d '{"name": "j1", "schedule": {"manual": true}, "command": ["/bin/true"]}'
curl -fsS -o /dev/null -H "$auth" "$url/api/v1/jobs/default/j1"
echo "chime daemon pid $pid on $url; GET /api/v1/jobs/default/j1 ($(curl -fsS -H "$auth" "$url/api/v1/jobs/default/j1" | wc -c) bytes)"

wrk -t "$threads" -c "$conns" -d 1s -H "$auth" "$url/api/v1/jobs/default/j1" >/dev/null   # warm-up
wrk -t "$threads" -c "$conns" -d "${secs}s" -H "$auth" --latency "$url/api/v1/jobs/default/j1"
