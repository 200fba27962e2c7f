#!/usr/bin/env bash
# Starts Valentine's servers for development in the foreground, with their data under data/,
# and stops all of them on Ctrl-C or when any one exits.
#
#   NATS_PORT (4222)  REDIS_PORT (6379)   ports on 127.0.0.1
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

nats_port="${NATS_PORT:-4222}"
redis_port="${REDIS_PORT:-6379}"
mkdir -p data/nats data/redis .run

port_free() { ! (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
for p in "$nats_port" "$redis_port"; do
  if ! port_free "$p"; then
    echo "up: port $p on 127.0.0.1 is in use; pick others with NATS_PORT / REDIS_PORT" >&2
    exit 1
  fi
done

pids=()
stop() {
  trap - INT TERM EXIT
  echo "up: stopping"
  kill "${pids[@]}" 2> /dev/null || true
  wait "${pids[@]}" 2> /dev/null || true
}
trap stop INT TERM EXIT

nats-server -c nats/nats-server.conf -a 127.0.0.1 -p "$nats_port" -js -sd data/nats \
  > .run/nats.log 2>&1 &
pids+=($!)
redis-server --bind 127.0.0.1 --port "$redis_port" --dir data/redis \
  --appendonly yes --maxmemory 256mb --maxmemory-policy allkeys-lru > .run/redis.log 2>&1 &
pids+=($!)

for _ in $(seq 100); do
  if ! port_free "$nats_port" && ! port_free "$redis_port"; then break; fi
  sleep 0.1
done
echo "up: NATS_URL=nats://127.0.0.1:$nats_port  REDIS_URL=redis://127.0.0.1:$redis_port"
echo "up: logs in .run/; Ctrl-C stops everything"
wait -n "${pids[@]}"
