#!/bin/sh
# Starts BIND 9 authoritative for portier.test on 127.0.0.1:5353, accepting
# updates signed with a new TSIG key, and prints the variables Portier needs.
# Debian: apt-get install bind9 bind9-utils. Stop it with: kill $(cat "$DIR/named.pid")
set -eu
DIR=${DIR:-$(mktemp -d)}
tsig-keygen -a hmac-sha256 portier-key. > "$DIR/key.conf"
cat > "$DIR/db.zone" <<ZONE
\$TTL 60
@  IN SOA ns.portier.test. admin.portier.test. 1 60 60 600 60
@  IN NS  ns.portier.test.
ns IN A   127.0.0.1
ZONE
cat > "$DIR/named.conf" <<CONF
include "$DIR/key.conf";
options { directory "$DIR"; listen-on port 5353 { 127.0.0.1; }; listen-on-v6 { none; }; pid-file "$DIR/named.pid";
  recursion no; dnssec-validation no; allow-query { any; }; };
zone "portier.test" { type master; file "$DIR/db.zone"; allow-update { key portier-key.; }; };
CONF
named -u "$(id -un)" -c "$DIR/named.conf"
SECRET=$(sed -nE 's/.*secret "([^"]+)".*/\1/p' "$DIR/key.conf")
echo "export RFC2136_NAMESERVER=127.0.0.1:5353"
echo "export RFC2136_TSIG_KEY=portier-key."
echo "export RFC2136_TSIG_ALGORITHM=hmac-sha256."
echo "export RFC2136_TSIG_SECRET=$SECRET"
