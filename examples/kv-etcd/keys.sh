#!/usr/bin/env bash
# Writes the routes of this example into etcd, in Traefik's key layout:
# whoami.localhost -> $BACKEND, with a middleware that strips /api.
# ETCD_ENDPOINT (127.0.0.1:2379), ROOT_KEY (traefik), BACKEND (http://127.0.0.1:9000).
set -euo pipefail
E=${ETCD_ENDPOINT:-127.0.0.1:2379}
R=${ROOT_KEY:-traefik}
B=${BACKEND:-http://127.0.0.1:9000}
put() { ETCDCTL_API=3 etcdctl --endpoints="$E" put "$R/$1" "$2" >/dev/null; }
put http/routers/whoami/rule 'Host(`whoami.localhost`)'
put http/routers/whoami/entrypoints/0 web
put http/routers/whoami/middlewares/0 strip-api
put http/routers/whoami/service whoami
put http/middlewares/strip-api/stripPrefix/prefixes/0 /api
put http/services/whoami/loadbalancer/servers/0/url "$B"
put http/services/whoami/loadbalancer/passhostheader true
echo "routes written under $R/ in etcd at $E"
