#!/usr/bin/env bash
# A private CA and two certificates signed by it, for this example only:
# certs/ca.pem is what Portier trusts (rootCAs), the backend serves
# certs/backend.{crt,key}, and Portier shows certs/client.{crt,key} to the
# backend, which asks for a client certificate. Needs openssl; run from anywhere.
set -euo pipefail
dir="$(cd "$(dirname "$0")" && pwd)/certs"
mkdir -p "$dir" && cd "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
  -subj "/CN=Portier example internal CA" -keyout ca.key -out ca.pem 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/CN=backend.internal" -keyout backend.key -out backend.csr 2>/dev/null
printf 'subjectAltName=DNS:backend.internal\nextendedKeyUsage=serverAuth\n' > backend.ext
openssl x509 -req -in backend.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
  -extfile backend.ext -out backend.crt 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/CN=portier" -keyout client.key -out client.csr 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' > client.ext
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
  -extfile client.ext -out client.crt 2>/dev/null
echo "wrote $dir/{ca.pem,backend.crt,backend.key,client.crt,client.key}"
