#!/usr/bin/env bash
# Rebuild benchmark: a throwaway nats-server on a free port, EVENTS (default 1,000,000) mixed
# page events and TALLIES view tallies seeded into it, then `valentine rebuild` timed.
# Prints events/s and the rebuild's peak RSS. Release build; nothing outside a temp dir.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
events="${EVENTS:-1000000}"
tallies="${TALLIES:-100000}"

cargo build --release --locked -q -p valentine-cli -p valentine-bench
tmp="$(mktemp -d)"
nats_pid=""
cleanup() {
  [ -n "$nats_pid" ] && kill "$nats_pid" 2> /dev/null && wait "$nats_pid" 2> /dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

mkdir -p "$tmp/ports"
# The seeding is not what is measured, so it runs without an fsync per message (sync_interval
# "2m" instead of the configuration's "always"); the rebuild only reads.
sed -E 's/^( *sync_interval:).*/\1 "2m"/' nats/nats-server.conf > "$tmp/nats-server.conf"
nats-server -c "$tmp/nats-server.conf" -a 127.0.0.1 -p -1 -js -sd "$tmp/js" --ports_file_dir "$tmp/ports" \
  > "$tmp/nats.log" 2>&1 &
nats_pid=$!
for _ in $(seq 200); do [ -n "$(ls "$tmp/ports")" ] && break; sleep 0.05; done
port="$(sed -E 's/.*:([0-9]+)".*/\1/' "$tmp"/ports/*.ports)"
export NATS_URL="nats://127.0.0.1:$port" REDIS_URL="" DATABASE_PATH="$tmp/valentine.db" RUST_LOG=warn

echo "bench-rebuild: seeding $events events and $tallies view tallies"
"${CARGO_TARGET_DIR:-target}"/release/valentine-bench seed --events "$events" --tallies "$tallies"
# Seeding leaves about a gigabyte of JetStream writes in the page cache; flush them so the
# kernel does not write them back during, and charge them to, the rebuild.
sync
echo "bench-rebuild: rebuilding"
report="$("${CARGO_TARGET_DIR:-target}"/release/valentine rebuild --json)"
echo "$report"
python3 - "$report" << 'PY'
import json, sys
r = json.loads(sys.argv[1])
rate = r["events"] / r["elapsed"]
rss = (r.get("peak_rss_bytes") or 0) / 2**20
print(f"bench-rebuild: {r['events']} events + {r['tallies']} tallies in {r['elapsed']:.2f} s "
      f"= {rate:,.0f} events/s; peak RSS {rss:.0f} MiB (targets: >= 100,000 events/s, <= 200 MiB)")
PY
