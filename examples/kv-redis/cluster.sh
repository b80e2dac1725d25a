#!/usr/bin/env bash
# Three Portier instances on one machine, all reading portier.yaml beside this
# script (so the same store): web on :8181, :8182, :8183 and the API on
# 127.0.0.1:9181-9183. In production each runs on its own host with the same
# file and a load balancer in front; here only the ports differ.
# Ctrl-C stops all three.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CLI="$HERE/../../dist/src/cli.js"
[ -f "$CLI" ] || { echo "build first: npm run build" >&2; exit 1; }
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' INT TERM EXIT
for i in 1 2 3; do
  node "$CLI" --config "$HERE/portier.yaml" \
    "--entryPoints.web.address=:818$i" "--entryPoints.traefik.address=127.0.0.1:918$i" \
    "--dataDir=${TMPDIR:-/tmp}/portier-kv-instance-$i" &
  pids+=($!)
done
echo "three instances: curl -H 'Host: whoami.localhost' http://127.0.0.1:818{1,2,3}/api/hello"
wait
