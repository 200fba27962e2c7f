#!/usr/bin/env bash
# Rebuild benchmark: a throwaway nats-server on a free port, EVENTS (default 1,000,000) mixed
# page events and TALLIES (default EVENTS / 10) page views seeded into it (as tally batches of 100
# pages, as API processes send them), then
# `valentine rebuild` timed. Prints the rebuild's phases (from its log), and as its last lines
# events/s, peak RSS, the size of the new generation on disk and the live projectors' pause.
# Release build; nothing outside a temp dir (TMPDIR), which is removed at the end.
#
# BENCH_STORE=<dir> keeps the seeded JetStream store in <dir> instead, and reuses it when a
# later run asks for the same EVENTS and TALLIES (seeding 10,000,000 events takes minutes).
# BENCH_SEALED=1 seeds personal events sealed with a data key per page life, as the event
# store writes them (the default seeds them in the clear, as versions before sealing did): the
# two side by side give the cost of opening them.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
events="${EVENTS:-1000000}"
tallies="${TALLIES:-$((events / 10))}"
sealed_flag=()
if [ "${BENCH_SEALED:-0}" = 1 ]; then sealed_flag=(--sealed); fi

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
# "2m" instead of the configuration's "always"); the rebuild only reads. The store's quota is
# lifted, so that any EVENTS fits (about a gigabyte per million events).
sed -E -e 's/^( *sync_interval:).*/\1 "2m"/' -e 's/^( *max_file_store:).*/\1 1TB/' \
  nats/nats-server.conf > "$tmp/nats-server.conf"
store="$tmp/js"
seeded=""
if [ -n "${BENCH_STORE:-}" ]; then
  store="$BENCH_STORE/js"
  if [ "$(cat "$BENCH_STORE/seeded" 2> /dev/null)" = "$events $tallies ${BENCH_SEALED:-0}" ]; then
    seeded=yes
  else
    rm -rf "$store" "$BENCH_STORE/seeded"
  fi
  mkdir -p "$BENCH_STORE"
fi
nats-server -c "$tmp/nats-server.conf" -a 127.0.0.1 -p -1 -js -sd "$store" --ports_file_dir "$tmp/ports" \
  > "$tmp/nats.log" 2>&1 &
nats_pid=$!
for _ in $(seq 200); do [ -n "$(ls "$tmp/ports")" ] && break; sleep 0.05; done
port="$(sed -E 's/.*:([0-9]+)".*/\1/' "$tmp"/ports/*.ports)"
export NATS_URL="nats://127.0.0.1:$port" REDIS_URL="" DATABASE_PATH="$tmp/valentine.db" RUST_LOG=warn

if [ -n "$seeded" ]; then
  echo "bench-rebuild: reusing $events events and $tallies view tallies in $BENCH_STORE"
else
  echo "bench-rebuild: seeding $events events and $tallies view tallies"
  "${CARGO_TARGET_DIR:-target}"/release/valentine-bench seed --events "$events" --tallies "$tallies" "${sealed_flag[@]}"
  if [ -n "${BENCH_STORE:-}" ]; then echo "$events $tallies ${BENCH_SEALED:-0}" > "$BENCH_STORE/seeded"; fi
fi
# Seeding leaves about a gigabyte of JetStream writes per million events in the page cache;
# flush them so the kernel does not write them back during, and charge them to, the rebuild.
sync
echo "bench-rebuild: rebuilding"
# The rebuild logs its phases at info (stderr); the report is on stdout.
if ! report="$(RUST_LOG="${BENCH_RUST_LOG:-info}" "${CARGO_TARGET_DIR:-target}"/release/valentine rebuild --json \
  2> "$tmp/rebuild.log")"; then
  cat "$tmp/rebuild.log" >&2
  exit 1
fi
grep -E 'projected|view counts started|indexed|live projection paused|rebuilt' "$tmp/rebuild.log" | sed -E 's/\x1b\[[0-9;]*m//g' || true
echo "$report"
python3 - "$report" << 'PY'
import json, os, sys
r = json.loads(sys.argv[1])
rate = r["events"] / r["elapsed"]
rss = (r.get("peak_rss_bytes") or 0) / 2**20
size = r.get("generation_bytes")
if size is None:
    # The generation's file (and a WAL beside it, if any) in the temp dir.
    size = sum(os.path.getsize(r["generation"] + s) for s in ("", "-wal") if os.path.exists(r["generation"] + s))
pause = r.get("pause_ms")
print(f"bench-rebuild: {r['events']:,} events + {r['tallies']:,} tallies in {r['elapsed']:.2f} s")
print(f"events/s: {rate:,.0f}")
print(f"peak RSS: {rss:,.0f} MiB")
print(f"generation size: {size / 2**20:,.0f} MiB")
print(f"live pause: {'n/a' if pause is None else f'{pause:,} ms'}")
PY
