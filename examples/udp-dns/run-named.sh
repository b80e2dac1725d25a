#!/usr/bin/env bash
# BIND answering zone example.test on 127.0.0.1, one listener per port in NAMED_PORTS
# (default "5301 5302"), in the foreground (Ctrl-C stops it). Its files go to NAMED_DIR
# (default: a new temporary directory, printed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${NAMED_DIR:-$(mktemp -d)}
echo "named files in $dir" >&2
cp "$here/example.test.zone" "$dir/"
{
  echo "options { directory \"$dir\"; pid-file \"$dir/named.pid\"; listen-on-v6 { none; };"
  for port in ${NAMED_PORTS:-5301 5302}; do echo "  listen-on port $port { 127.0.0.1; };"; done
  echo "  recursion no; dnssec-validation no; allow-query { any; }; };"
  # No rndc channel: it would take port 953, which another named on the machine may hold.
  echo "controls { };"
  echo "zone \"example.test\" { type primary; file \"$dir/example.test.zone\"; };"
} > "$dir/named.conf"
user=()
if [ "$(id -u)" = 0 ]; then user=(-u root); fi
exec named -g "${user[@]}" -c "$dir/named.conf"
