#!/usr/bin/env bash
# End-to-end tests of the web app in Debian's Chromium (Playwright), against the real stack:
# builds the web app and the `valentine` binary, starts nats-server, redis-server, two
# projectors, an SMTP server with two notifiers, and the API serving web/dist on free
# loopback ports with throwaway data, runs
# web/e2e/*.spec.ts, and stops everything. Screenshots land in web/test-results/.
#
#   E2E_ARGS   extra arguments for `playwright test` (e.g. a file or --grep)
#
# An admin token is issued for the run (E2E_ADMIN_TOKEN), and the projectors' pids are passed
# on (E2E_PROJECTOR_PIDS) so that a test may freeze and resume them.
#
# The API trusts the loopback peer as a proxy, so each test picks its own client address with
# X-Forwarded-For and the rate limit (3 creates per hour per client here) is its own.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

STACK_NAME=e2e
# shellcheck source=scripts/lib/stack.sh
. scripts/lib/stack.sh
stack_temp
tmp="$STACK_TMP"

[ -f web/package.json ] || stack_die "no web app in web/"
[ -x "${E2E_CHROMIUM:-/usr/bin/chromium}" ] || stack_die "Chromium is missing; run scripts/bootstrap.sh"

(cd web && npm run --silent build > "$STACK_LOGS/web-build.log" 2>&1) ||
  stack_die "the web app did not build; see $STACK_LOGS/web-build.log"
cargo build --locked -q -p valentine-cli

stack_clear_settings
export RUST_LOG=info NO_COLOR=1
bin="$(realpath "${CARGO_TARGET_DIR:-target}")/debug/valentine"
# `admin-token` prints `token: …` and `ADMIN_TOKEN_HASH=…`.
issued="$("$bin" admin-token --name e2e 2> /dev/null)"
admin_token="$(sed -n 's/^token: //p' <<< "$issued")"
admin_hash="$(sed -n 's/^ADMIN_TOKEN_HASH=//p' <<< "$issued")"
[ -n "$admin_token" ] && [ -n "$admin_hash" ] || stack_die "valentine admin-token printed no token"
read -r redis_port api_port <<< "$(stack_free_ports 2)"
STACK_NOTIFIERS=2 stack_up "$bin" "$tmp" -1 "$redis_port" "127.0.0.1:$api_port" 2 no \
  WEB_DIST="$PWD/web/dist" TRUSTED_PROXIES=127.0.0.1/32 IP_HASH_SECRET=e2e \
  RATE_LIMIT_PAGES_PER_HOUR=3 FRONTEND_DOMAIN="http://127.0.0.1:$api_port" ADMIN_TOKEN_HASH="$admin_hash"
projector_pids="$(stack_pid projector-1) $(stack_pid projector-2)"
stack_say "stack up at $STACK_BASE"

export E2E_BASE_URL="$STACK_BASE" E2E_MAILDIR="$STACK_MAILDIR" E2E_CHROMIUM="${E2E_CHROMIUM:-/usr/bin/chromium}" \
  E2E_ADMIN_TOKEN="$admin_token" E2E_PROJECTOR_PIDS="$projector_pids"
# Tests that freeze the projectors run alone, after the others (each run takes E2E_ARGS, so a
# file or --grep picks from both; --no-deps keeps the second from running the first again).
# shellcheck disable=SC2086 # E2E_ARGS is a list of arguments
(cd web && npx playwright test --project=chromium ${E2E_ARGS:-}) 3>&- 4>&-
# shellcheck disable=SC2086
(cd web && npx playwright test --project="frozen projectors" --no-deps --pass-with-no-tests ${E2E_ARGS:-}) 3>&- 4>&-
