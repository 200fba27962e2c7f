#!/usr/bin/env bash
# HTTP API benchmark: the whole stack on free loopback ports (nats-server, redis-server without
# persistence, two `valentine projector` workers, one `valentine api`), a fresh read model in a
# temp dir, then wrk scenarios (32 connections, 2 threads) against the API:
#
#   page-get     GET /api/pages/{slug} over BENCH_PAGES (100) pages created first
#   slug-check   GET /api/slugs/check/{random valid slug}
#   templates    GET /api/templates
#   create       POST /api/pages, a unique slug per request; answers counted by status
#   page-get-pin GET /api/pages/{slug} with the right X-Page-Pin over BENCH_PAGES private
#                pages (not in the default set)
#   og-png       GET /{slug}/og.png over the BENCH_PAGES pages (not in the default set)
#
# Every request carries a random X-Forwarded-For client address (the API trusts the loopback
# peer as a proxy), so the rate limits run at their defaults, for real, per simulated client.
#
#   BENCH_SECONDS (15)  BENCH_CREATE_SECONDS (30)  BENCH_WARMUP_SECONDS (3)  BENCH_PAGES (100)
#   BENCH_RUST_LOG (info: the API's RUST_LOG, as in .env.example)  BENCH_PROJECTORS (2)
#   BENCH_SCENARIOS ("page-get slug-check templates create": a subset runs only those)
#   BENCH_NATS_SYNC (JetStream's sync_interval, e.g. always or 2m; default: as in
#                    nats/nats-server.conf)
#   BENCH_BIN (a `valentine` binary to run instead of building this checkout: another
#              revision's release build, to compare side by side)
#   BENCH_CACHE (on: the API caches answers in Redis, as deployed; off: the API runs without
#                REDIS_URL, so every read is a query of its SQLite read model. Rate limits
#                then keep their windows in the API's memory; the projectors still delete
#                keys in Redis, which the CPU figures include)
#
# Settings from .env or the environment do not leak in: every variable the binary reads is
# set or unset here. Logs are removed after a clean run and kept (path printed) after a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

seconds="${BENCH_SECONDS:-15}"
create_seconds="${BENCH_CREATE_SECONDS:-30}"
warmup="${BENCH_WARMUP_SECONDS:-3}"
page_count="${BENCH_PAGES:-100}"
projectors="${BENCH_PROJECTORS:-2}"
scenarios="${BENCH_SCENARIOS:-page-get slug-check templates create}"
connections=32
threads=2
page_prefix="bench-page-"

say() { printf 'bench: %s\n' "$*"; }
die() {
  say "$*" >&2
  exit 1
}

for tool in wrk curl python3 redis-server nats-server; do
  command -v "$tool" > /dev/null || die "$tool is missing; run scripts/bootstrap.sh"
done

if [ -n "${BENCH_BIN:-}" ]; then
  bin="$(realpath "$BENCH_BIN")"
  [ -x "$bin" ] || die "BENCH_BIN=$BENCH_BIN is not an executable"
else
  cargo build --release --locked -q -p valentine-cli
  bin="$(realpath "${CARGO_TARGET_DIR:-target}")/release/valentine"
fi

STACK_NAME=bench
# shellcheck source=scripts/lib/stack.sh
. scripts/lib/stack.sh
stack_temp
tmp="$STACK_TMP"
logs="$STACK_LOGS"

# --- the stack -----------------------------------------------------------------------------
stack_clear_settings
nats_sync="$(sed -nE 's/^ *sync_interval: *"?([^"]*)"?.*$/\1/p' nats/nats-server.conf)"
if [ -n "${BENCH_NATS_SYNC:-}" ]; then
  nats_sync="$BENCH_NATS_SYNC"
  STACK_NATS_CONF="$tmp/nats-server.conf"
  sed -E "s/^( *sync_interval:).*/\1 \"$nats_sync\"/" nats/nats-server.conf > "$STACK_NATS_CONF"
  grep -q "sync_interval: \"$nats_sync\"" "$STACK_NATS_CONF" || die "nats/nats-server.conf has no sync_interval to replace"
fi
export RUST_LOG="${BENCH_RUST_LOG:-info}" NO_COLOR=1
read -r redis_port api_port <<< "$(stack_free_ports 2)"
cache=(); [ "${BENCH_CACHE:-on}" = off ] && cache=(REDIS_URL=)
stack_up "$bin" "$tmp" -1 "$redis_port" "127.0.0.1:$api_port" "$projectors" no \
  TRUSTED_PROXIES=127.0.0.1/32 IP_HASH_SECRET=bench "${cache[@]}"
base="$STACK_BASE"
nats_port="${NATS_URL##*:}"
fully_ready() { [ "$(curl -s -o "$tmp/ready.json" -w '%{http_code}' "$base/ready")" = 200 ] && grep -q '^{"status":"ready"' "$tmp/ready.json"; }
if ! (for _ in $(seq 50); do fully_ready && exit 0; sleep 0.1; done; exit 1); then
  say "warning: /ready says $(cat "$tmp/ready.json")"
fi
say "stack up: nats :$nats_port (sync_interval $nats_sync), redis :$redis_port (API cache ${BENCH_CACHE:-on}), api :$api_port, $projectors projectors (release build)"

# --- the pages that page-get reads ---------------------------------------------------------
say "creating $page_count pages"
for i in $(seq "$page_count"); do
  code="$(curl -s -o "$tmp/create.json" -w '%{http_code}' -X POST "$base/api/pages" \
    -H 'Content-Type: application/json' -H "X-Forwarded-For: 192.168.$((i / 250)).$((i % 250 + 1))" \
    --data "{\"slug\":\"$page_prefix$i\",\"title\":\"Page $i\",\"message\":\"A benchmark page, number $i, with a message of a usual length for a valentine: a few warm sentences.\",\"sender_name\":\"Sam\",\"recipient_name\":\"Alex\",\"template_id\":\"classic\"}")"
  case "$code" in
    201 | 202) ;;
    *) stack_die "creating $page_prefix$i answered $code: $(cat "$tmp/create.json")" ;;
  esac
done
page_visible() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/api/pages/$page_prefix$1")" = 200 ]; }
for i in $(seq "$page_count"); do stack_wait_until "page $page_prefix$i readable" 30 page_visible "$i"; done
if [[ " $scenarios " == *" page-get-pin "* ]]; then
  say "creating $page_count private pages"
  for i in $(seq "$page_count"); do
    code="$(curl -s -o "$tmp/create.json" -w '%{http_code}' -X POST "$base/api/pages" \
      -H 'Content-Type: application/json' -H "X-Forwarded-For: 192.169.$((i / 250)).$((i % 250 + 1))" \
      --data "{\"slug\":\"${page_prefix}pin-$i\",\"title\":\"Page $i\",\"message\":\"A private benchmark page, number $i.\",\"pin\":\"2468\"}")"
    case "$code" in
      201 | 202) ;;
      *) stack_die "creating ${page_prefix}pin-$i answered $code: $(cat "$tmp/create.json")" ;;
    esac
  done
  pin_page_open() {
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Page-Pin: 2468' "$base/api/pages/${page_prefix}pin-$1")" = 200 ]
  }
  for i in $(seq "$page_count"); do stack_wait_until "private page $i readable" 30 pin_page_open "$i"; done
fi

# --- scenarios -----------------------------------------------------------------------------
clk_tck="$(getconf CLK_TCK)"
# CPU time (clock ticks) a process has used so far.
cpu_ticks() { sed -E 's/^.*\) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
# CPU ticks of: the API, all projectors together, nats-server, redis-server.
cpu_all() {
  local projected=0 i
  for i in $(seq "$projectors"); do projected=$((projected + $(cpu_ticks "$(stack_pid "projector-$i")"))); done
  echo "$(cpu_ticks "$(stack_pid api)") $projected $(cpu_ticks "$(stack_pid nats)") $(cpu_ticks "$(stack_pid redis)")"
}

# CPU seconds used by this script's finished children (user + system), from `times` (run in
# this shell: a subshell would count only its own children).
children_cpu() {
  times > "$tmp/times"
  awk 'NR == 2 { n = 0; for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); n += p[1] * 60 + p[2] }; print n }' \
    "$tmp/times"
}

declare -A result
# run NAME SCRIPT SECONDS: a warm-up, then the measured run; fills result[NAME.*].
run() {
  local name=$1 script=$2 duration=$3
  local out="$logs/wrk-$name.txt"
  export BENCH_PAGE_PREFIX="$page_prefix" BENCH_PAGE_COUNT="$page_count"
  if [ "$warmup" -gt 0 ]; then
    wrk -t "$threads" -c "$connections" -d "${warmup}s" --timeout 10s -s "scripts/bench/$script" \
      "$base" > "$logs/wrk-$name-warmup.txt" 2>&1 3>&- 4>&-
  fi
  stack_all_alive
  local before after wrk_cpu
  read -r -a before <<< "$(cpu_all)"
  children_cpu > "$tmp/cpu-before"
  wrk -t "$threads" -c "$connections" -d "${duration}s" --timeout 10s --latency \
    -s "scripts/bench/$script" "$base" > "$out" 2>&1 3>&- 4>&-
  children_cpu > "$tmp/cpu-after"
  wrk_cpu="$(awk 'NR == FNR { b = $1; next } { printf "%.1f", $1 - b }' "$tmp/cpu-before" "$tmp/cpu-after")"
  read -r -a after <<< "$(cpu_all)"
  stack_all_alive
  local line
  line="$(grep '^result ' "$out")" || stack_die "wrk printed no result for $name (see $out)"
  local kv
  for kv in ${line#result }; do result["$name.${kv%%=*}"]="${kv#*=}"; done
  result["$name.cpu"]="$(awk -v t="$clk_tck" -v w="$wrk_cpu" \
    -v b="${before[*]}" -v a="${after[*]}" 'BEGIN {
      split(b, x, " "); split(a, y, " ")
      printf "api %.1f s, projectors %.1f s, nats %.1f s, redis %.1f s, wrk %.1f s", \
        (y[1]-x[1])/t, (y[2]-x[2])/t, (y[3]-x[3])/t, (y[4]-x[4])/t, w }')"
  result["$name.cpu_us"]="$(awk -v t="$clk_tck" -v n="${result[$name.requests]}" \
    -v b="${before[*]}" -v a="${after[*]}" 'BEGIN {
      split(b, x, " "); split(a, y, " "); s = 0
      for (i = 1; i <= 4; i++) s += y[i] - x[i]
      printf "%.0f", n ? s / t / n * 1e6 : 0 }')"
  result["$name.rps"]="$(awk -v n="${result[$name.requests]}" -v s="${result[$name.seconds]}" \
    'BEGIN { printf "%.0f", n / s }')"
  local extra=""
  if [ "$name" = create ]; then
    result["create.share201"]="$(awk -v ok="${result[create.s201]}" -v n="${result[create.requests]}" \
      'BEGIN { printf "%.2f", n ? 100 * ok / n : 0 }')"
    local other=$((${result[create.s409]} + ${result[create.s429]} + ${result[create.s5xx]} + ${result[create.sother]}))
    extra="  201: ${result[create.share201]} % (${result[create.s201]} × 201, ${result[create.s202]} × 202, $other other"
    [ "$other" -gt 0 ] && extra+=": 409 ${result[create.s409]}, 429 ${result[create.s429]}, 5xx ${result[create.s5xx]}, else ${result[create.sother]}"
    extra+=")"
  elif [ "${result[$name.non_2xx]}" != 0 ]; then
    extra="  non-2xx: ${result[$name.non_2xx]}"
  fi
  [ "${result[$name.socket_errors]}" != 0 ] && extra+="  socket errors/timeouts: ${result[$name.socket_errors]}"
  printf 'bench: %-10s %8s req/s  p50 %7.2f ms  p99 %7.2f ms%s\n' "$name" "${result[$name.rps]}" \
    "${result[$name.p50_ms]}" "${result[$name.p99_ms]}" "$extra"
  printf 'bench: %-10s CPU over %s s: %s; %s µs per request (all but wrk)\n' "" "$duration" \
    "${result[$name.cpu]}" "${result[$name.cpu_us]}"
}

say "scenarios: $connections connections, $threads threads, ${warmup} s warm-up each"
for s in $scenarios; do
  case "$s" in
    page-get) run page-get page_get.lua "$seconds" ;;
    slug-check) run slug-check slug_check.lua "$seconds" ;;
    templates) run templates templates.lua "$seconds" ;;
    create) run create create.lua "$create_seconds" ;;
    page-get-pin) run page-get-pin page_get_pin.lua "$seconds" ;;
    og-png) run og-png og_png.lua "$seconds" ;;
    *) stack_die "unknown scenario $s (page-get, slug-check, templates, create, page-get-pin, og-png)" ;;
  esac
done

# --- summary -------------------------------------------------------------------------------
# verdict NAME MIN_RPS MAX_P99_MS [MIN_SHARE_201]
verdict() {
  awk -v r="${result[$1.rps]}" -v p="${result[$1.p99_ms]}" -v s="${result[$1.share201]:-100}" \
    -v R="$2" -v P="$3" -v S="${4:-0}" 'BEGIN { print (r >= R && (P == "" || p <= P) && s >= S) ? "met" : "MISSED" }'
}
echo
printf '%-13s %9s %9s %9s %8s  %-7s %s\n' scenario 'req/s' 'p50 ms' 'p99 ms' '201 %' verdict target
for s in $scenarios; do
  case "$s" in
    page-get) target="≥ 20,000 req/s, p99 ≤ 10 ms" v="$(verdict page-get 20000 10)" ;;
    slug-check) target="≥ 15,000 req/s" v="$(verdict slug-check 15000 '')" ;;
    templates) target="≥ 30,000 req/s" v="$(verdict templates 30000 '')" ;;
    create) target="≥ 5,000/s, p99 ≤ 50 ms, ≥ 99 % 201" v="$(verdict create 5000 50 99)" ;;
    page-get-pin | og-png) target="(none: side by side with page-get)" v="-" ;;
  esac
  printf '%-13s %9s %9.2f %9.2f %8s  %-7s %s\n' "$s" "${result[$s.rps]}" "${result[$s.p50_ms]}" \
    "${result[$s.p99_ms]}" "${result[$s.share201]:--}" "$v" "$target"
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
exit 0
