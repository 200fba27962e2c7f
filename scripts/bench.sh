#!/usr/bin/env bash
# HTTP API benchmark on a realistic read model: the whole stack on free loopback ports
# (nats-server as configured, redis-server with its append-only file as in compose, two
# `valentine projector` workers, one `valentine api`), started on a site of BENCH_SITE_PAGES
# (1,000,000) pages seeded with `valentine-bench seed --pages` and rebuilt with
# `valentine rebuild`, then scenarios sent by `valentine-bench load` (32 connections):
#
#   page-get      GET /api/pages/{slug} over every page, Zipf-like popularity (exponent 1):
#                 views counted, first opens recorded, as for real recipients
#   page-get-hot  the same over the 100 most popular pages only, equally often
#   slug-check    GET /api/slugs/check/{slug}: half taken slugs (answered with suggestions),
#                 half fresh random ones
#   create        POST /api/pages with an Idempotency-Key like the web app, a unique slug and
#                 a message of a realistic length; one page in 64 answered 201 is read back
#                 at once, and must be there
#   templates     GET /api/templates
#   open-loop     page-get and create again at a fixed offered rate, 50 % and 80 % of what
#                 their closed-loop runs reached, latency counted from each request's
#                 intended start (no coordinated omission); needs those two runs first
#   page-get-open, create-open   the same for one of them alone
#   page-get-pin  GET /api/pages/{slug} with the right X-Page-Pin over 100 private pages
#                 (not in the default set)
#   og-png        GET /{slug}/og.png over the 100 most popular pages (not in the default set)
#
# Closed-loop runs send as fast as answers come; each prints req/s, p50/p99, and the CPU time
# per request of every server process (API, projectors, nats-server, redis-server) summed, of
# the load generator, and of the whole machine (/proc/stat, kernel threads included), with the
# ceiling those servers allow on this machine's cores (cores ÷ servers' CPU per request). The
# servers' CPU is counted until they are idle again after the run, so work a scenario sets
# going (projections of its creates and first opens, view tallies) is charged to it.
#
# Every request carries a random X-Forwarded-For client address (the API trusts the loopback
# peer as a proxy), so the per-client budgets run at their defaults, for real.
#
#   BENCH_SECONDS (15)  BENCH_CREATE_SECONDS (20)  BENCH_OPEN_SECONDS (30)
#   BENCH_WARMUP_SECONDS (3)  BENCH_PROJECTORS (2)  BENCH_CONNECTIONS (32)
#   BENCH_SCENARIOS ("page-get-hot page-get slug-check create templates open-loop")
#   BENCH_SITE_PAGES (1000000: the seeded site; 0 starts on an empty read model)
#   BENCH_SITE_OPENED (90: the share of the site's pages already opened by their recipient,
#                      in percent; a first open records an event. 0 for revisions that
#                      predate opens, which cannot read that event)
#   BENCH_DATA (where seeded sites and each build's rebuilt read model are kept between runs,
#               the models of the last four builds measured; default: bench-data in cargo's
#               target directory. Seeding a million pages and rebuilding take minutes; every
#               run then starts from a copy)
#   BENCH_RUST_LOG (info: the API's RUST_LOG, as in .env.example)
#   BENCH_NATS_SYNC (JetStream's sync_interval, e.g. always or 2m; default: as in
#                    nats/nats-server.conf)
#   BENCH_BIN (a `valentine` binary to run instead of building this checkout: another
#              revision's release build, to compare side by side)
#   BENCH_CACHE (default: Redis as deployed, for the shared rate limits, and every page read
#                a query of the SQLite read model; pages: PAGE_CACHE=true, page answers cached
#                in Redis too; off: the API runs without REDIS_URL, and the rate limits keep
#                their windows in the API's memory)
#
# Settings from .env or the environment do not leak in: every variable the binary reads is
# set or unset here. Logs are removed after a clean run and kept (path printed) after a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

seconds="${BENCH_SECONDS:-15}"
create_seconds="${BENCH_CREATE_SECONDS:-20}"
open_seconds="${BENCH_OPEN_SECONDS:-30}"
warmup="${BENCH_WARMUP_SECONDS:-3}"
projectors="${BENCH_PROJECTORS:-2}"
connections="${BENCH_CONNECTIONS:-32}"
site_pages="${BENCH_SITE_PAGES:-1000000}"
site_opened="${BENCH_SITE_OPENED:-90}"
scenarios="${BENCH_SCENARIOS:-page-get-hot page-get slug-check create templates open-loop}"
target_dir="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
data_root="$(realpath -m "${BENCH_DATA:-$target_dir/bench-data}")"
cores="$(nproc)"

say() { printf 'bench: %s\n' "$*"; }
die() {
  say "$*" >&2
  exit 1
}

for tool in curl python3 redis-server nats-server sha256sum sqlite3; do
  command -v "$tool" > /dev/null || die "$tool is missing; run scripts/bootstrap.sh"
done

cargo build --release --locked -q -p valentine-bench
load_bin="$target_dir/release/valentine-bench"
if [ -n "${BENCH_BIN:-}" ]; then
  bin="$(realpath "$BENCH_BIN")"
  [ -x "$bin" ] || die "BENCH_BIN=$BENCH_BIN is not an executable"
else
  cargo build --release --locked -q -p valentine-cli
  bin="$target_dir/release/valentine"
fi

STACK_NAME=bench
# shellcheck source=scripts/lib/stack.sh
. scripts/lib/stack.sh
stack_temp
tmp="$STACK_TMP"
logs="$STACK_LOGS"
stack_clear_settings

# --- the seeded site, and this build's read model of it -----------------------------------
# nats_serve DIR CONF: a nats-server on a free port with its store in DIR; sets NATS_URL.
nats_serve() {
  mkdir -p "$tmp/seed-ports"
  rm -f "$tmp"/seed-ports/*.ports
  stack_start "nats-$(basename "$1")" nats-server -c "$2" -a 127.0.0.1 -p -1 -js -sd "$1" \
    --ports_file_dir "$tmp/seed-ports"
  stack_wait_until "nats-server ports file" 20 compgen -G "$tmp/seed-ports/*.ports" > /dev/null
  export NATS_URL="nats://127.0.0.1:$(sed -E 's/.*:([0-9]+)".*/\1/' "$tmp"/seed-ports/*.ports)"
}
stop_last() {
  local last=$((${#stack_pids[@]} - 1))
  stack_stop "${stack_pids[$last]}"
  unset "stack_pids[$last]" "stack_names[$last]"
  stack_pids=("${stack_pids[@]}")
  stack_names=("${stack_names[@]}")
}
# unsaved_views DB: how many pages have views counted but not yet checkpointed (0 for a read
# model without view checkpoints).
unsaved_views() {
  sqlite3 -readonly "$(realpath "$1")" "SELECT count(*) FROM views_unsaved" 2> /dev/null || echo 0
}
# Seeding is not what is measured: no fsync per message, and no quota.
sed -E -e 's/^( *sync_interval:).*/\1 "2m"/' -e 's/^( *max_file_store:).*/\1 1TB/' \
  nats/nats-server.conf > "$tmp/nats-seed.conf"
site="$data_root/site-$site_pages-opened-$site_opened"
slugs="$site/slugs.txt"
build_id="$(sha256sum "$bin" | cut -c1-16)"
model="$site-model-$build_id"
if [ "$site_pages" -gt 0 ]; then
  if [ ! -f "$site/done" ]; then
    rm -rf "$site" "$site"-model-*
    mkdir -p "$site"
    say "seeding a site of $site_pages pages into $site (once; kept for later runs)"
    nats_serve "$site/nats" "$tmp/nats-seed.conf"
    "$load_bin" seed --pages "$site_pages" --opened-percent "$site_opened" --live-slugs "$slugs" 2>&1 | sed 's/^/bench:   /'
    stop_last
    touch "$site/done"
  fi
  if [ ! -f "$model/done" ]; then
    rm -rf "$model"
    mkdir -p "$model"
    say "rebuilding the site's read model with this build into $model (once per build)"
    cp -a "$site/nats" "$model/nats"
    nats_serve "$model/nats" "$tmp/nats-seed.conf"
    REDIS_URL="" DATABASE_PATH="$model/valentine.db" RUST_LOG=warn "$bin" rebuild > "$model/rebuild.txt" \
      || stack_die "the rebuild failed: $(cat "$model/rebuild.txt")"
    # A projector's first view count checkpoint saves every page the seeded tallies counted:
    # done here once, not in the first scenario of every run.
    if [ "$(unsaved_views "$model/valentine.db")" -gt 0 ]; then
      say "saving the seeded view counts' checkpoints"
      stack_start checkpoints env REDIS_URL="" DATABASE_PATH="$model/valentine.db" RUST_LOG=warn \
        VIEWS_CHECKPOINT_SECS=1 "$bin" projector
      views_saved() { [ "$(unsaved_views "$model/valentine.db")" = 0 ]; }
      stack_wait_until "the seeded view counts' checkpoints" 900 views_saved
      stop_last
    fi
    stop_last
    sync
    touch "$model/done"
  fi
  # Models are kept for the four builds measured last (a few gigabytes each).
  touch "$model"
  for old in $(ls -1dt "$site"-model-*/ 2> /dev/null | tail -n +5); do rm -rf "$old"; done
  say "starting from a copy of $model"
  mkdir -p "$tmp/run"
  cp -a "$model/nats" "$model"/valentine.db* "$tmp/run/"
else
  mkdir -p "$tmp/run"
  : > "$tmp/slugs.txt"
  slugs="$tmp/slugs.txt"
fi
unset NATS_URL

# --- the stack -----------------------------------------------------------------------------
nats_sync="$(sed -nE 's/^ *sync_interval: *"?([^"]*)"?.*$/\1/p' nats/nats-server.conf)"
if [ -n "${BENCH_NATS_SYNC:-}" ]; then
  nats_sync="$BENCH_NATS_SYNC"
  STACK_NATS_CONF="$tmp/nats-server.conf"
  sed -E "s/^( *sync_interval:).*/\1 \"$nats_sync\"/" nats/nats-server.conf > "$STACK_NATS_CONF"
  grep -q "sync_interval: \"$nats_sync\"" "$STACK_NATS_CONF" || die "nats/nats-server.conf has no sync_interval to replace"
fi
export RUST_LOG="${BENCH_RUST_LOG:-info}" NO_COLOR=1
read -r redis_port api_port <<< "$(stack_free_ports 2)"
cache=()
case "${BENCH_CACHE:-default}" in
  default) ;;
  pages) cache=(PAGE_CACHE=true) ;;
  off) cache=(REDIS_URL=) ;;
  *) stack_die "BENCH_CACHE is default, pages or off, not ${BENCH_CACHE}" ;;
esac
stack_up "$bin" "$tmp/run" -1 "$redis_port" "127.0.0.1:$api_port" "$projectors" yes \
  TRUSTED_PROXIES=127.0.0.1/32 IP_HASH_SECRET=bench "${cache[@]}"
base="$STACK_BASE"
nats_port="${NATS_URL##*:}"
fully_ready() { [ "$(curl -s -o "$tmp/ready.json" -w '%{http_code}' "$base/ready")" = 200 ] && grep -q '^{"status":"ready"' "$tmp/ready.json"; }
if ! (for _ in $(seq 50); do fully_ready && exit 0; sleep 0.1; done; exit 1); then
  say "warning: /ready says $(cat "$tmp/ready.json")"
fi
live="$(wc -l < "$slugs")"
say "stack up: nats :$nats_port (sync_interval $nats_sync), redis :$redis_port (append-only file; cache ${BENCH_CACHE:-default}), api :$api_port, $projectors projectors; $live live pages (release build ${build_id:0:8})"
if [ "$live" -gt 0 ]; then
  first="$(head -1 "$slugs")"
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/api/pages/$first")" = 200 ] \
    || stack_die "the seeded page $first is not readable"
fi

if [[ " $scenarios " == *" page-get-pin "* ]]; then
  say "creating 100 private pages"
  : > "$tmp/pin-slugs.txt"
  for i in $(seq 100); do
    slug="bench-pin-$i-$RANDOM"
    code="$(curl -s -o "$tmp/create.json" -w '%{http_code}' -X POST "$base/api/pages" \
      -H 'Content-Type: application/json' -H "X-Forwarded-For: 192.169.$((i / 250)).$((i % 250 + 1))" \
      --data "{\"slug\":\"$slug\",\"title\":\"Page $i\",\"message\":\"A private benchmark page, number $i.\",\"pin\":\"2468\"}")"
    case "$code" in
      201 | 202) echo "$slug" >> "$tmp/pin-slugs.txt" ;;
      *) stack_die "creating $slug answered $code: $(cat "$tmp/create.json")" ;;
    esac
  done
  pin_page_open() {
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Page-Pin: 2468' "$base/api/pages/$1")" = 200 ]
  }
  while read -r slug; do stack_wait_until "private page $slug readable" 30 pin_page_open "$slug"; done < "$tmp/pin-slugs.txt"
fi

# --- scenarios -----------------------------------------------------------------------------
clk_tck="$(getconf CLK_TCK)"
# CPU time (clock ticks) a process has used so far.
cpu_ticks() { sed -E 's/^.*\) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
# CPU ticks of every server process together, of the whole machine (busy, all cores), then of
# the API, the projectors, nats-server and redis-server each.
cpu_now() {
  local projected=0 i api nats redis
  for i in $(seq "$projectors"); do projected=$((projected + $(cpu_ticks "$(stack_pid "projector-$i")"))); done
  api="$(cpu_ticks "$(stack_pid api)")"
  nats="$(cpu_ticks "$(stack_pid nats)")"
  redis="$(cpu_ticks "$(stack_pid redis)")"
  echo "$((api + projected + nats + redis)) $(awk '/^cpu / { print $2 + $3 + $4 + $6 + $7 + $8 }' /proc/stat) $api $projected $nats $redis"
}

# Waits until the servers are nearly idle: below a tenth of a core over a second.
# Before a run, so that what the warm-up left behind is not charged to it; after it, so that
# what it set going (projections of its creates, opens and view tallies) is, and not to the
# next (the idle second that ends the wait adds well under 1 %).
# Views wait for their checkpoint too (every VIEWS_CHECKPOINT_SECS, 60 s): it saves the count
# of every page viewed since the last one, and that work belongs to the run that viewed them.
# settle [QUIET [LIMIT]]: QUIET (1) such seconds in a row, within LIMIT (150) seconds.
settle() {
  local quiet=${1:-1} limit=${2:-150} calm=0 a b
  for _ in $(seq "$limit"); do
    read -r -a a <<< "$(cpu_now)"
    sleep 1
    read -r -a b <<< "$(cpu_now)"
    if [ $((b[0] - a[0])) -lt $((clk_tck / 10)) ] && [ "$(unsaved_views "$DATABASE_PATH")" = 0 ]; then
      calm=$((calm + 1))
      [ "$calm" -ge "$quiet" ] && return 0
    else
      calm=0
    fi
  done
  say "warning: the servers were still busy after $limit s"
}

declare -A result
ran=()
# run NAME SECONDS LOAD-ARGS...: a warm-up, then the measured run; fills result[NAME.*].
run() {
  local name=$1 duration=$2
  shift 2
  local out="$logs/load-$name.txt"
  if [ "$warmup" -gt 0 ]; then
    "$load_bin" load --addr "127.0.0.1:$api_port" --connections "$connections" --seconds "$warmup" "$@" \
      > "$logs/load-$name-warmup.txt" 2>&1 3>&- 4>&- || stack_die "the warm-up of $name failed: $(cat "$logs/load-$name-warmup.txt")"
  fi
  stack_all_alive
  settle
  local before after
  read -r -a before <<< "$(cpu_now)"
  "$load_bin" load --addr "127.0.0.1:$api_port" --connections "$connections" --seconds "$duration" "$@" \
    > "$out" 2>&1 3>&- 4>&- || stack_die "$name failed: $(cat "$out")"
  # What the run set going (projections, view tallies) is charged to it: measured once done.
  settle
  read -r -a after <<< "$(cpu_now)"
  stack_all_alive
  local line kv
  line="$(grep '^result ' "$out")" || stack_die "the load generator printed no result for $name (see $out)"
  for kv in ${line#result }; do result["$name.${kv%%=*}"]="${kv#*=}"; done
  local n="${result[$name.requests]}"
  result["$name.rps"]="$(awk -v n="$n" -v s="${result[$name.seconds]}" 'BEGIN { printf "%.0f", n / s }')"
  result["$name.us"]="$(awk -v t="$clk_tck" -v n="$n" -v b="${before[0]}" -v a="${after[0]}" \
    'BEGIN { printf "%.0f", n ? (a - b) / t / n * 1e6 : 0 }')"
  result["$name.load_us"]="$(awk -v n="$n" -v c="${result[$name.cpu_s]}" 'BEGIN { printf "%.0f", n ? c / n * 1e6 : 0 }')"
  result["$name.machine_us"]="$(awk -v t="$clk_tck" -v n="$n" -v b="${before[1]}" -v a="${after[1]}" \
    'BEGIN { printf "%.0f", n ? (a - b) / t / n * 1e6 : 0 }')"
  result["$name.split"]="$(awk -v t="$clk_tck" -v n="$n" -v b="${before[*]}" -v a="${after[*]}" 'BEGIN {
    split(b, x, " "); split(a, y, " ")
    if (!n) exit
    printf "API %.0f, projectors %.0f, nats-server %.0f, redis %.0f", (y[3]-x[3])/t/n*1e6, (y[4]-x[4])/t/n*1e6, (y[5]-x[5])/t/n*1e6, (y[6]-x[6])/t/n*1e6 }')"
  result["$name.ceiling"]="$(awk -v c="$cores" -v u="${result[$name.us]}" 'BEGIN { printf "%.0f", u ? c / u * 1e6 : 0 }')"
  local extra="" status other=0
  for kv in ${line#result }; do
    status="${kv%%=*}"
    [[ "$status" =~ ^s[0-9]+$ ]] && [[ ! "$status" =~ ^s2 ]] && other=$((other + ${kv#*=})) && extra+=" ${status#s}×${kv#*=}"
  done
  [ -n "$extra" ] && extra="  non-2xx:$extra"
  if [[ "$name" == create* ]]; then
    result["$name.share201"]="$(awk -v ok="${result[$name.s201]:-0}" -v n="$n" 'BEGIN { printf "%.2f", n ? 100 * ok / n : 0 }')"
    extra="  201: ${result[$name.share201]} % (${result[$name.s201]:-0} × 201, ${result[$name.s202]:-0} × 202)$extra"
    extra+="; read back ${result[$name.read_back]}, missing ${result[$name.read_back_missed]}"
  fi
  [ "${result[$name.errors]}" != 0 ] && extra+="  connection errors: ${result[$name.errors]}"
  [ "${result[$name.intended]}" != 0 ] && extra+="  (offered ${result[$name.intended]} in ${duration} s)"
  printf 'bench: %-15s %8s req/s  p50 %7.2f ms  p99 %7.2f ms%s\n' "$name" "${result[$name.rps]}" \
    "${result[$name.p50_ms]}" "${result[$name.p99_ms]}" "$extra"
  printf 'bench: %-15s CPU per request: servers %s µs (%s), load generator %s µs, machine %s µs; ceiling %s req/s on %s cores\n' "" \
    "${result[$name.us]}" "${result[$name.split]}" "${result[$name.load_us]}" "${result[$name.machine_us]}" "${result[$name.ceiling]}" "$cores"
  # Where the tail comes from: the seconds of the run in which over 1 % of answers took
  # longer than 10 ms (second:slow/answered), so periodic work shows as a rhythm.
  [ "${result[$name.slow_seconds]:--}" != - ] \
    && printf 'bench: %-15s seconds with > 1 %% of answers over 10 ms: %s\n' "" "${result[$name.slow_seconds]//,/ }"
  ran+=("$name")
}

# open NAME OF SHARE SECONDS LOAD-ARGS...: NAME at SHARE % of the closed-loop rate of OF.
open() {
  local name=$1 of=$2 share=$3 duration=$4
  shift 4
  [ -n "${result[$of.rps]:-}" ] || stack_die "open-loop needs the $of scenario to run first"
  local rate=$((${result[$of.rps]} * share / 100))
  run "$name" "$duration" --rate "$rate" "$@"
}

# After a start the projectors have work of their own: the first view count checkpoint saves
# the count of every page the seeded tallies counted.
say "waiting for the servers to settle after their start"
settle 5 300
hot=(--scenario page-get --slugs "$slugs" --hot 100 --zipf 0)
tail=(--scenario page-get --slugs "$slugs")
creates=(--scenario create)
say "scenarios: $connections connections, ${warmup} s warm-up each"
for s in $scenarios; do
  case "$s" in
    page-get-hot) run page-get-hot "$seconds" "${hot[@]}" ;;
    page-get) run page-get "$seconds" "${tail[@]}" ;;
    slug-check) run slug-check "$seconds" --scenario slug-check --slugs "$slugs" --taken-share 0.5 ;;
    create) run create "$create_seconds" "${creates[@]}" ;;
    templates) run templates "$seconds" --scenario templates ;;
    open-loop|page-get-open|create-open)
      if [ "$s" != create-open ]; then
        open page-get@50% page-get 50 "$open_seconds" "${tail[@]}"
        open page-get@80% page-get 80 "$open_seconds" "${tail[@]}"
      fi
      if [ "$s" != page-get-open ]; then
        open create@50% create 50 "$open_seconds" "${creates[@]}"
        open create@80% create 80 "$open_seconds" "${creates[@]}"
      fi
      ;;
    page-get-pin) run page-get-pin "$seconds" --scenario page-get --slugs "$tmp/pin-slugs.txt" --zipf 0 --pin 2468 ;;
    og-png) run og-png "$seconds" --scenario og-png --slugs "$slugs" --hot 100 --zipf 0 ;;
    *) stack_die "unknown scenario $s (page-get-hot, page-get, slug-check, create, templates, open-loop, page-get-open, create-open, page-get-pin, og-png)" ;;
  esac
done

# --- summary -------------------------------------------------------------------------------
echo
printf '%-15s %9s %8s %8s %11s %9s %10s %8s\n' scenario 'req/s' 'p50 ms' 'p99 ms' 'servers µs' 'load µs' 'ceiling' '201 %'
for s in "${ran[@]}"; do
  printf '%-15s %9s %8.2f %8.2f %11s %9s %10s %8s\n' "$s" "${result[$s.rps]}" "${result[$s.p50_ms]}" \
    "${result[$s.p99_ms]}" "${result[$s.us]}" "${result[$s.load_us]}" "${result[$s.ceiling]}" "${result[$s.share201]:--}"
done
if [ -n "${result[page-get.rps]:-}" ] && [ -n "${result[page-get-hot.rps]:-}" ]; then
  awk -v t="${result[page-get.rps]}" -v h="${result[page-get-hot.rps]}" -v p="${result[page-get.p99_ms]}" 'BEGIN {
    printf "long tail: %.0f %% of the hot set'"'"'s req/s (target ≥ 60 %%), p99 %.2f ms (target ≤ 10 ms)\n", 100 * t / h, p }'
fi
missed=0
for s in "${ran[@]}"; do
  [[ "$s" == create* ]] && [ "${result[$s.read_back_missed]}" != 0 ] && missed=1 \
    && say "$s: ${result[$s.read_back_missed]} of ${result[$s.read_back]} pages answered 201 were not readable at once"
done
echo

# What the API saw, by route, from its own histogram; then each process's CPU time.
curl -s "$base/metrics" > "$logs/metrics.txt"
python3 - "$logs/metrics.txt" << 'PY'
import re, sys
from collections import defaultdict
series = re.compile(r'^valentine_http_request_duration_seconds_(bucket|sum|count)\{(.*)\} (\S+)')
label = re.compile(r'(\w+)="([^"]*)"')
routes = defaultdict(lambda: {"buckets": [], "sum": 0.0, "count": 0.0})
other = []
for line in open(sys.argv[1]):
    m = series.match(line)
    if m:
        kind, labels, value = m.group(1), dict(label.findall(m.group(2))), float(m.group(3))
        r = routes[(labels["method"], labels["route"], labels["status"])]
        if kind == "bucket":
            r["buckets"].append((float(labels["le"]), value))
        elif kind == "sum":
            r["sum"] = value
        else:
            r["count"] = value
    elif re.match(r'^valentine_(cache_requests|rate_limit_rejections|redis_failures|commands|command_conflicts)_total', line):
        other.append(line.strip())
print("API latency by route (its own histogram, whole run incl. warm-ups; p99 = bucket bound):")
print(f"  {'route':<34} {'status':>6} {'requests':>10} {'mean ms':>8} {'p99 ≤ ms':>9}")
for (method, route, status), r in sorted(routes.items(), key=lambda kv: -kv[1]["count"]):
    if not r["count"]:
        continue
    p99 = next((le for le, n in sorted(r["buckets"]) if n >= 0.99 * r["count"]), float("inf"))
    p99 = "+Inf" if p99 == float("inf") else f"{p99 * 1000:.2f}"
    print(f"  {method + ' ' + route:<34} {status:>6} {int(r['count']):>10} {1000 * r['sum'] / r['count']:>8.3f} {p99:>9}")
for line in other:
    print("  " + line)
PY
echo
say "CPU time of each process since it started (ps):"
for i in "${!stack_pids[@]}"; do
  printf '  %-12s pid %-8s %s\n' "${stack_names[$i]}" "${stack_pids[$i]}" "$(ps -o time= -p "${stack_pids[$i]}")"
done
for name in "${stack_names[@]}"; do
  problems="$(grep -cE ' (WARN|ERROR) ' "$logs/$name.log" || true)"
  [ "$problems" != 0 ] && say "$name logged $problems warnings/errors, e.g.: $(grep -m1 -E ' (WARN|ERROR) ' "$logs/$name.log")"
done
[ "$missed" = 0 ] || stack_die "a page answered 201 was not readable at once"
exit 0
