#!/usr/bin/env bash
# Writes the routes of this example into Redis, in Traefik's key layout:
# whoami.localhost -> $BACKEND, with a middleware that strips /api.
# REDIS_HOST (127.0.0.1), REDIS_PORT (6379), ROOT_KEY (traefik), BACKEND (http://127.0.0.1:9000).
set -euo pipefail
H=${REDIS_HOST:-127.0.0.1}
P=${REDIS_PORT:-6379}
R=${ROOT_KEY:-traefik}
B=${BACKEND:-http://127.0.0.1:9000}
put() { redis-cli -h "$H" -p "$P" set "$R/$1" "$2" >/dev/null; }
put http/routers/whoami/rule 'Host(`whoami.localhost`)'
put http/routers/whoami/entrypoints/0 web
put http/routers/whoami/middlewares/0 strip-api
put http/routers/whoami/service whoami
put http/middlewares/strip-api/stripPrefix/prefixes/0 /api
put http/services/whoami/loadbalancer/servers/0/url "$B"
put http/services/whoami/loadbalancer/passhostheader true
echo "routes written under $R/ in Redis at $H:$P"
