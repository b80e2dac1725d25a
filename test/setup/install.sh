#!/usr/bin/env bash
# Installs, from Debian's packages, every real component the tests drive.
# Idempotent and quick when everything is present. Runs as `npm test`'s
# pretest step; under CI=true a component that cannot be installed fails the run.
set -euo pipefail

need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for pkg in docker.io docker-compose busybox-static pebble prometheus chromium wrk nginx-light openssl curl iproute2 haproxy libnss3-tools \
  postgresql redis-server redis-tools bind9 bind9-utils bind9-dnsutils nghttp2-client etcd-server etcd-client; do
  have "$pkg" || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "test setup: missing packages ${need[*]} and not root: the tests that need them will skip" >&2
  [ "${CI:-}" = true ] && exit 1
  exit 0
fi
echo "test setup: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Keep dockerd and prometheus from being started by the package: tests start their own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
# One retry: a mirror hiccup should not fail a whole CI run.
apt-get update -qq || { sleep 5; apt-get update -qq; }
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
  { sleep 5; apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
