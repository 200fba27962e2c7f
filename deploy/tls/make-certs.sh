#!/usr/bin/env bash
# Makes a private certificate authority and the certificates NATS TLS needs, with openssl:
#
#   deploy/tls/make-certs.sh [NAME...]
#
# into deploy/tls/certs/ (mounted read-only by the TLS overrides: deploy/tls/compose.yml,
# deploy/nats-cluster/tls.yml, deploy/multi-node/tls.yml):
#   ca.pem                    the authority's certificate: NATS_TLS_CA of the clients, and
#                             NATS_SERVER_TLS_CA of the servers
#   server.pem, server-key.pem
#                             the NATS servers' certificate, valid for every NAME (default:
#                             nats nats-1 nats-2 nats-3 localhost 127.0.0.1), for server and
#                             client use (a cluster node is both on a route)
#   client.pem, client-key.pem
#                             Valentine's client certificate (NATS_TLS_CERT, NATS_TLS_KEY),
#                             for servers that verify clients
# and the authority's private key into deploy/tls/ca/, which nothing mounts: keep it offline
# once the certificates are made. Certificates last 397 days, the authority ten years; run
# again to renew them (an existing authority is reused), then restart NATS and Valentine.
# Nothing here is committed (.gitignore).
set -euo pipefail
cd "$(dirname "$0")"

names=("$@")
[ ${#names[@]} -gt 0 ] || names=(nats nats-1 nats-2 nats-3 localhost 127.0.0.1)
san=""
for name in "${names[@]}"; do
  if [[ "$name" =~ ^[0-9.]+$|:.*: ]]; then san+="IP:$name,"; else san+="DNS:$name,"; fi
done
san="${san%,}"

umask 077
mkdir -p ca certs
chmod 755 certs

if [ ! -f ca/ca-key.pem ]; then
  openssl ecparam -name prime256v1 -genkey -noout -out ca/ca-key.pem
  openssl req -x509 -new -key ca/ca-key.pem -sha256 -days 3650 -subj "/CN=Valentine NATS authority" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out ca/ca.pem
fi
cp ca/ca.pem certs/ca.pem

# issue NAME SUBJECT USAGE [SAN]: a key and a certificate signed by the authority.
issue() {
  local name="$1" subject="$2" usage="$3" names="${4:-}" ext
  ext="$(mktemp)"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    [ -z "$names" ] || echo "subjectAltName=$names"
  } > "$ext"
  openssl ecparam -name prime256v1 -genkey -noout -out "certs/$name-key.pem"
  openssl req -new -key "certs/$name-key.pem" -subj "/CN=$subject" |
    openssl x509 -req -CA ca/ca.pem -CAkey ca/ca-key.pem -CAcreateserial -days 397 -sha256 \
      -extfile "$ext" -out "certs/$name.pem" 2> /dev/null
  rm -f "$ext"
}
issue server "Valentine NATS server" serverAuth,clientAuth "$san"
issue client "Valentine" clientAuth
chmod 644 certs/*.pem
chmod 600 certs/server-key.pem certs/client-key.pem

# The valentine image runs as uid 10001, which must read the client key; nats-server runs as
# root in its image.
if [ "$(id -u)" -eq 0 ]; then
  chown 10001 certs/client-key.pem
else
  echo "make-certs: let the valentine containers read the client key: sudo chown 10001 $(pwd)/certs/client-key.pem"
fi
echo "make-certs: certificates for ${names[*]} in $(pwd)/certs (the authority's key in $(pwd)/ca)"
