#!/usr/bin/env bash
# Prints the OpenAPI document the real binary serves: starts `chime serve`
# on a fresh data directory and a free port of 127.0.0.1, fetches
# /api/v1/openapi.json with the admin token, and stops it.
#   tools/openapi/served.sh [CHIME]  > openapi.json
set -euo pipefail
chime=${1:-build/chime}
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$chime" serve --data-dir "$dir/data" --listen "127.0.0.1:$port" >"$dir/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
    [ -s "$dir/data/admin.token" ] && curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && break
    kill -0 $pid 2>/dev/null || { cat "$dir/log" >&2; exit 1; }
    sleep 0.1
done
curl -sf -H "Authorization: Bearer $(cat "$dir/data/admin.token")" \
    "http://127.0.0.1:$port/api/v1/openapi.json"
