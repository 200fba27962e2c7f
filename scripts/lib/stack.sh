# Running the whole stack from a script: nats-server, redis-server, projectors and the API.
# Sourced (not run) by scripts/up.sh, scripts/bench.sh and scripts/e2e.sh.
#
# The sourcing script sets STACK_NAME (its name in messages) and STACK_LOGS (a folder for each
# process's log), then calls stack_start for each process, or stack_up for all of them.
# Every process started is stopped on exit, the API and projectors before the servers they
# publish to; after a failure the end of each log is shown. No process outlives the script.

# shellcheck shell=bash

stack_say() { printf '%s: %s\n' "$STACK_NAME" "$*"; }
stack_die() {
  stack_say "$*" >&2
  exit 1
}

# stack_temp: throwaway data in $STACK_TMP and logs in $STACK_LOGS, both removed on exit,
# except the logs after a failure (their folder is printed). Call before anything starts.
stack_temp() {
  STACK_TMP="$(mktemp -d)"
  STACK_LOGS="$(mktemp -d)"
  stack_on_exit() {
    rm -rf "$STACK_TMP"
    if [ "$1" -ne 0 ] && [ "$1" -ne 130 ] && [ "$1" -ne 143 ]; then
      stack_say "failed; logs kept in $STACK_LOGS" >&2
    else
      rm -rf "$STACK_LOGS"
    fi
  }
}

stack_names=()
stack_pids=()
# The script's own stdout and stderr, for cleanup: a signal can arrive while a redirection is
# in force.
exec 3>&1 4>&2

# stack_stop PID...: TERM, up to 10 s to exit, then KILL.
stack_stop() {
  [ $# -gt 0 ] || return 0
  kill -TERM "$@" 2> /dev/null || true
  local pid running
  for _ in $(seq 100); do
    running=0
    for pid in "$@"; do kill -0 "$pid" 2> /dev/null && running=1; done
    [ "$running" = 0 ] && break
    sleep 0.1
  done
  kill -KILL "$@" 2> /dev/null || true
  wait "$@" 2> /dev/null || true
}

# Stops everything started; shows the logs' ends after a failure. Runs stack_on_exit STATUS
# first when the sourcing script defines it.
stack_cleanup() {
  local status=$?
  trap - EXIT INT TERM
  exec 1>&3 2>&4
  if declare -F stack_on_exit > /dev/null; then stack_on_exit "$status" || true; fi
  local i valentine=() servers=()
  for i in "${!stack_pids[@]}"; do
    case "${stack_names[$i]}" in
      nats | redis) servers+=("${stack_pids[$i]}") ;;
      *) valentine+=("${stack_pids[$i]}") ;;
    esac
  done
  stack_stop "${valentine[@]}"
  stack_stop "${servers[@]}"
  if [ "$status" -eq 130 ] || [ "$status" -eq 143 ]; then
    stack_say "stopped; everything it started is stopped" >&2
  elif [ "$status" -ne 0 ]; then
    for name in "${stack_names[@]}"; do
      echo "---- $name (last 20 lines of $STACK_LOGS/$name.log)" >&2
      tail -n 20 "$STACK_LOGS/$name.log" >&2 || true
    done
  fi
  exit "$status"
}
trap stack_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# stack_start NAME COMMAND...: runs COMMAND in the background, output in $STACK_LOGS/NAME.log.
stack_start() {
  local name=$1
  shift
  "$@" > "$STACK_LOGS/$name.log" 2>&1 3>&- 4>&- &
  stack_names+=("$name")
  stack_pids+=($!)
}

# stack_pid NAME: the pid of a started process.
stack_pid() {
  local i
  for i in "${!stack_names[@]}"; do [ "${stack_names[$i]}" = "$1" ] && echo "${stack_pids[$i]}" && return; done
  return 1
}

# Fails when any started process has exited.
stack_all_alive() {
  local i
  for i in "${!stack_pids[@]}"; do
    kill -0 "${stack_pids[$i]}" 2> /dev/null || stack_die "${stack_names[$i]} exited"
  done
}

# stack_wait_until WHAT SECONDS COMMAND...: polls COMMAND every 0.1 s while all are alive.
stack_wait_until() {
  local what=$1 limit=$2
  shift 2
  for _ in $(seq $((limit * 10))); do
    "$@" && return 0
    stack_all_alive
    sleep 0.1
  done
  stack_die "$what: not within $limit s"
}

# stack_free_ports N: N free loopback ports, bound at once so they differ.
stack_free_ports() {
  python3 - "$1" << 'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

stack_listening() { (exec 5<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }

# Unsets every variable the binary reads (crates/cli/src/settings.rs), so that only what the
# script sets applies.
stack_clear_settings() {
  unset NATS_URL NATS_USER NATS_PASSWORD NATS_TLS_CA NATS_TLS_CERT NATS_TLS_KEY \
    REDIS_URL REDIS_PASSWORD PAGE_CACHE DATABASE_PATH NATS_REPLICAS \
    PROJECTOR_BATCH_SIZE READ_MODEL_ID REDIS_CLUSTER LOG_FORMAT RUST_LOG BIND_ADDR ALLOWED_ORIGINS \
    FRONTEND_DOMAIN RATE_LIMIT_PAGES_PER_HOUR RATE_LIMIT_SLUG_CHECKS_PER_MINUTE SYNC_WAIT_MS \
    TRUSTED_PROXIES IP_HASH_SECRET WEB_DIST MAX_BODY_BYTES READ_CONNECTIONS \
    RATE_LIMIT_EDITS_PER_MINUTE RATE_LIMIT_PAGE_EDITS_PER_HOUR RATE_LIMIT_JOB_POLLS_PER_MINUTE \
    RATE_LIMIT_READS_PER_MINUTE MAX_EVENTS_PER_PAGE EVENTS_MAX_BYTES HEADER_READ_TIMEOUT_SECS IDLE_TIMEOUT_SECS \
    MAX_CONNECTIONS VIEWS_MAX_AGE_DAYS VIEWS_CHECKPOINT_SECS IDEMPOTENCY_WINDOW_HOURS \
    CLIENT_IPV6_PREFIX PROJECTOR_HEALTH_ADDR RATE_LIMIT_ANSWERS_PER_MINUTE MAX_INSIGHT_STREAMS \
    SMTP_URL MAIL_FROM NOTIFY_MAX_AGE_HOURS NOTIFIER_HEALTH_ADDR RATE_LIMIT_PHOTOS_PER_HOUR \
    RATE_LIMIT_PIN_GUESSES_PER_HOUR RATE_LIMIT_PAGE_PIN_GUESSES_PER_HOUR RATE_LIMIT_PAGE_PIN_GUESSES_PER_MONTH \
    RATE_LIMIT_REPORTS_PER_HOUR ADMIN_TOKEN_HASH RATE_LIMIT_ADMIN_PER_MINUTE RATE_LIMIT_ADMIN_FAILURES_PER_HOUR \
    PROJECTOR_MAX_DELIVERIES PROJECTOR_STUCK_AFTER_SECS
}

# stack_up BIN DATA NATS_PORT REDIS_PORT API_ADDR PROJECTORS REDIS_PERSIST [API_ENV...]:
# starts nats-server (store DATA/nats), redis-server (DATA/redis; REDIS_PERSIST=yes keeps an
# append-only file), PROJECTORS projectors and the API on API_ADDR with the read model
# DATA/valentine.db, and waits until GET /ready answers 200. NATS_PORT may be -1 for any free
# port. API_ENV are extra NAME=VALUE settings of the API. Sets STACK_BASE (the API's URL)
# and exports NATS_URL, REDIS_URL and DATABASE_PATH. nats-server reads STACK_NATS_CONF
# (default nats/nats-server.conf). With STACK_NOTIFIERS=N (default 0), also N notifiers with
# the API's settings, sending to SMTP_URL, or when that is unset to an SMTP server started
# here (aiosmtpd, keeping every mail in the Maildir DATA/mail, set as STACK_MAILDIR).
stack_up() {
  local bin=$1 data=$2 nats_port=$3 redis_port=$4 api_addr=$5 projectors=$6 persist=$7
  shift 7
  mkdir -p "$data/nats" "$data/redis" "$data/ports"
  rm -f "$data"/ports/*.ports
  stack_start nats nats-server -c "${STACK_NATS_CONF:-nats/nats-server.conf}" -a 127.0.0.1 -p "$nats_port" -js \
    -sd "$data/nats" --ports_file_dir "$data/ports"
  stack_wait_until "nats-server ports file" 20 compgen -G "$data/ports/*.ports" > /dev/null
  nats_port="$(sed -E 's/.*:([0-9]+)".*/\1/' "$data"/ports/*.ports)"
  local redis_args=(--save '' --appendonly no)
  [ "$persist" = yes ] && redis_args=(--appendonly yes --maxmemory 256mb --maxmemory-policy allkeys-lru)
  stack_start redis redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$data/redis" "${redis_args[@]}"
  stack_wait_until "redis-server on :$redis_port" 20 stack_listening "$redis_port"

  export NATS_URL="nats://127.0.0.1:$nats_port"
  export REDIS_URL="redis://127.0.0.1:$redis_port"
  export DATABASE_PATH="$data/valentine.db"
  # The first projector creates the read model; the others and the API open it once it exists.
  stack_start projector-1 "$bin" projector
  stack_wait_until "the read model at $DATABASE_PATH" 60 test -L "$DATABASE_PATH"
  local i
  for i in $(seq 2 "$projectors"); do stack_start "projector-$i" "$bin" projector; done
  STACK_MAILDIR=
  if [ "${STACK_NOTIFIERS:-0}" -gt 0 ]; then
    local smtp_url=${SMTP_URL:-}
    if [ -z "$smtp_url" ]; then
      local smtp_port
      smtp_port="$(stack_free_ports 1)"
      STACK_MAILDIR="$data/mail"
      stack_start smtp aiosmtpd -n -l "127.0.0.1:$smtp_port" -c aiosmtpd.handlers.Mailbox "$STACK_MAILDIR"
      stack_wait_until "the SMTP server on :$smtp_port" 20 stack_listening "$smtp_port"
      smtp_url="smtp://127.0.0.1:$smtp_port"
    fi
    for i in $(seq 1 "$STACK_NOTIFIERS"); do
      stack_start "notifier-$i" env SMTP_URL="$smtp_url" "$@" "$bin" notifier
    done
  fi
  stack_start api env BIND_ADDR="$api_addr" "$@" "$bin" api
  STACK_BASE="http://$api_addr"
  stack_wait_until "GET /ready answering 200" 60 stack_ready
}

stack_ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$STACK_BASE/ready")" = 200 ]; }
