#!/usr/bin/env bash
# Builds and starts all of Valentine for development, in the foreground: nats-server with
# JetStream (store in data/nats), redis-server (append-only file in data/redis), two
# `valentine projector` workers, a local SMTP server (every mail kept in data/mail) with one
# `valentine notifier`, and one `valentine api` serving the built web app, with the read
# model in data/valentine.db and logs in .run/. Ctrl-C (or any process exiting) stops
# all of it.
#
#   API_PORT (8000)  NATS_PORT (4222)  REDIS_PORT (6379)   ports on 127.0.0.1
#   PROJECTORS (2; `just scale-projectors N` changes it while running)
#   NOTIFIERS (1); mail goes to SMTP_URL if set, else to the local SMTP server (data/mail)
#   UP_PROFILE (debug, or release for an optimized build)
#   UP_WEB (1; 0 serves the API alone, without building the web app)
#
# Other settings (.env, which `just` loads, or the environment) apply to the API and the
# projectors as usual; the addresses and the read model's path are this script's.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

api_port="${API_PORT:-8000}"
nats_port="${NATS_PORT:-4222}"
redis_port="${REDIS_PORT:-6379}"
projectors="${PROJECTORS:-2}"
profile="${UP_PROFILE:-debug}"

STACK_NAME=up
STACK_LOGS="$PWD/.run"
mkdir -p "$STACK_LOGS" data
# shellcheck source=scripts/lib/stack.sh
. scripts/lib/stack.sh

for p in "$api_port" "$nats_port" "$redis_port"; do
  if stack_listening "$p"; then
    stack_die "port $p on 127.0.0.1 is in use; pick others with API_PORT / NATS_PORT / REDIS_PORT"
  fi
done

stack_say "building valentine ($profile)"
if [ "$profile" = release ]; then
  cargo build --release --locked -q -p valentine-cli
else
  cargo build --locked -q -p valentine-cli
fi
bin="$PWD/target/$profile/valentine"

web_env=()
if [ "${UP_WEB:-1}" = 1 ] && [ -f web/package.json ]; then
  stack_say "building the web app"
  (cd web && npm run --silent build > "$STACK_LOGS/web-build.log" 2>&1) ||
    stack_die "the web app did not build; see $STACK_LOGS/web-build.log"
  web_env=(WEB_DIST="$PWD/web/dist")
fi

# The console needs an admin: without ADMIN_TOKEN_HASH (in .env or the environment), one is
# issued for this run, its token kept in .run/admin-token.
admin_env=()
admin_token=""
if [ -z "${ADMIN_TOKEN_HASH:-}" ]; then
  issued="$("$bin" admin-token --name dev 2> /dev/null)"
  admin_token="$(sed -n 's/^token: //p' <<< "$issued")"
  admin_env=(ADMIN_TOKEN_HASH="$(sed -n 's/^ADMIN_TOKEN_HASH=//p' <<< "$issued")")
  mkdir -p .run
  (umask 077 && printf '%s\n' "$admin_token" > .run/admin-token)
fi

STACK_NOTIFIERS="${NOTIFIERS:-1}" stack_up "$bin" "$PWD/data" "$nats_port" "$redis_port" "127.0.0.1:$api_port" "$projectors" yes \
  FRONTEND_DOMAIN="${FRONTEND_DOMAIN:-http://localhost:$api_port}" "${web_env[@]}" "${admin_env[@]}"

stack_say "Valentine is up: $STACK_BASE"
stack_say "NATS_URL=$NATS_URL  REDIS_URL=$REDIS_URL  DATABASE_PATH=data/valentine.db"
[ -n "$STACK_MAILDIR" ] && stack_say "mails to authors land in data/mail/new (a local SMTP server; set SMTP_URL for a real one)"
if [ -n "$admin_token" ]; then
  stack_say "the console: $STACK_BASE/admin, token for this run in .run/admin-token"
fi
stack_say "logs in .run/ (just logs); Ctrl-C stops everything"

# Scaling: `just scale-projectors N` writes N to .run/projectors and sends SIGHUP here.
echo "$projectors" > "$STACK_LOGS/projectors"
echo $$ > "$STACK_LOGS/up.pid"
stack_on_exit() { rm -f "$STACK_LOGS/up.pid" "$STACK_LOGS/projectors"; }

running_projectors() {
  local i n=0
  for i in "${!stack_names[@]}"; do [[ "${stack_names[$i]}" == projector-* ]] && n=$((n + 1)); done
  echo "$n"
}

# Starts or stops projectors until as many run as .run/projectors asks for.
reconcile() {
  local want have i
  want="$(cat "$STACK_LOGS/projectors" 2> /dev/null || echo "$projectors")"
  [[ "$want" =~ ^[0-9]+$ ]] && [ "$want" -ge 1 ] || {
    stack_say "ignoring projector count '$want' (want 1 or more)"
    return
  }
  have="$(running_projectors)"
  while [ "$have" -lt "$want" ]; do
    have=$((have + 1))
    stack_start "projector-$have" "$bin" projector
  done
  while [ "$have" -gt "$want" ]; do
    for i in "${!stack_names[@]}"; do
      if [ "${stack_names[$i]}" = "projector-$have" ]; then
        stack_stop "${stack_pids[$i]}"
        unset 'stack_names[i]' 'stack_pids[i]'
      fi
    done
    stack_names=("${stack_names[@]}")
    stack_pids=("${stack_pids[@]}")
    have=$((have - 1))
  done
  stack_say "projectors running: $have"
}
trap 'scaling=1' HUP

# Until any process exits (then the cleanup stops the others) or Ctrl-C.
scaling=0
while true; do
  set +e
  wait -n "${stack_pids[@]}"
  set -e
  if [ "$scaling" = 1 ]; then
    scaling=0
    reconcile
    continue
  fi
  for i in "${!stack_pids[@]}"; do
    kill -0 "${stack_pids[$i]}" 2> /dev/null || stack_die "${stack_names[$i]} exited"
  done
done
