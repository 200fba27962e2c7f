#!/usr/bin/env bash
# Writes the v3 golden corpus: a real `valentine backup` of a small, known history of the
# event types v3 introduced at version 1.0: PageReported (sealed, with the reason and the
# reporter's note), PageTakenDown and PageReinstated (in the clear, with the admin's name
# and reason), written through the API and the console as this version writes them, with
# the content hash its read model rebuilds to. It also holds a restore of an earlier version
# (a PageUpdated written by POST /api/pages/{slug}/restore). The process handling below is
# v2's; never point it at a folder that already holds a corpus.
#
# Usage: write.sh VALENTINE_BIN [OUT_DIR]
#
# The history (pages.json describes each slug):
#   - heron: classic; reported twice (once with a note); taken down by the admin ana;
#     edited by its author while down; reinstated by the admin ben; edited again, then
#     restored to the edit made while down; alive and up;
#   - egret: modern; reported with a note; taken down by ana; a reader's read and a second
#     report refused with 451; alive and down;
#   - stork: playful; reported with a note; deleted by its author (erased, the report too).
# Every title, message, note and moderator's reason carries a marker gc3-<slug>-<field>-<n>.
set -euo pipefail

die() {
  printf 'write.sh: %s\n' "$*" >&2
  exit 1
}
say() { printf 'write.sh: %s\n' "$*" >&2; }

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: write.sh VALENTINE_BIN [OUT_DIR]"
bin=$1
out=${2:-corpus-out}
[ -x "$bin" ] || die "$bin is not an executable"
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then die "$out is not empty: a corpus is never rewritten"; fi
here="$(cd "$(dirname "$0")" && pwd)"
written_by=${WRITTEN_BY:-$(git -C "$here" rev-parse --short HEAD)}

for tool in curl jq python3 redis-server; do
  command -v "$tool" > /dev/null || die "$tool is not on PATH"
done
nats_server=${NATS_SERVER:-}
if [ -z "$nats_server" ]; then
  if command -v nats-server > /dev/null; then
    nats_server=nats-server
  else
    nats_server="$(git -C "$here" rev-parse --show-toplevel)/.venv/bin/nats-server"
  fi
fi
[ -x "$(command -v "$nats_server")" ] || die "no nats-server (set NATS_SERVER)"

work="$(mktemp -d)"
logs="$work/logs"
mkdir -p "$logs"

# ---- processes --------------------------------------------------------------------------

names=()
pids=()
start() { # start NAME COMMAND...: in the background, output in $logs/NAME.log
  local name=$1
  shift
  "$@" > "$logs/$name.log" 2>&1 &
  names+=("$name")
  pids+=($!)
}

stop_pids() { # TERM, up to 10 s, then KILL
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

stop_named() { # stop_named NAME: stops that process and forgets it
  local i
  for i in "${!names[@]}"; do
    if [ "${names[$i]}" = "$1" ]; then
      stop_pids "${pids[$i]}"
      unset 'names[i]' 'pids[i]'
      names=("${names[@]}")
      pids=("${pids[@]}")
      return 0
    fi
  done
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  local i valentine=() servers=()
  for i in "${!pids[@]}"; do
    case "${names[$i]}" in
      nats* | redis*) servers+=("${pids[$i]}") ;;
      *) valentine+=("${pids[$i]}") ;;
    esac
  done
  stop_pids "${valentine[@]}"
  stop_pids "${servers[@]}"
  if [ "$status" -ne 0 ]; then
    for f in "$logs"/*.log; do
      [ -e "$f" ] || continue
      echo "---- $(basename "$f") (last 20 lines)" >&2
      tail -n 20 "$f" >&2 || true
    done
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

all_alive() {
  local i
  for i in "${!pids[@]}"; do
    kill -0 "${pids[$i]}" 2> /dev/null || die "${names[$i]} exited"
  done
}

wait_until() { # wait_until WHAT SECONDS COMMAND...: polls every 0.1 s
  local what=$1 limit=$2
  shift 2
  for _ in $(seq $((limit * 10))); do
    "$@" && return 0
    all_alive
    sleep 0.1
  done
  die "$what: not within $limit s"
}

free_ports() {
  python3 - "$1" << 'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}
listening() { (exec 5<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
answers_200() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = 200 ]; }

# ---- the system -------------------------------------------------------------------------

# Only what this script sets applies (every variable the binary reads).
unset NATS_URL NATS_USER NATS_PASSWORD NATS_TLS_CA NATS_TLS_CERT NATS_TLS_KEY NATS_REPLICAS \
  REDIS_URL REDIS_PASSWORD REDIS_CLUSTER DATABASE_PATH READ_MODEL_ID READ_CONNECTIONS \
  PROJECTOR_BATCH_SIZE PROJECTOR_HEALTH_ADDR PROJECTOR_MAX_DELIVERIES PROJECTOR_STUCK_AFTER_SECS \
  NOTIFIER_HEALTH_ADDR NOTIFY_MAX_AGE_HOURS MAIL_FROM SMTP_URL LOG_FORMAT RUST_LOG BIND_ADDR \
  ALLOWED_ORIGINS FRONTEND_DOMAIN TRUSTED_PROXIES CLIENT_IPV6_PREFIX IP_HASH_SECRET WEB_DIST \
  MAX_BODY_BYTES MAX_CONNECTIONS MAX_EVENTS_PER_PAGE MAX_INSIGHT_STREAMS EVENTS_MAX_BYTES \
  HEADER_READ_TIMEOUT_SECS IDLE_TIMEOUT_SECS SYNC_WAIT_MS IDEMPOTENCY_WINDOW_HOURS \
  VIEWS_MAX_AGE_DAYS VIEWS_CHECKPOINT_SECS ADMIN_TOKEN_HASH \
  RATE_LIMIT_PAGES_PER_HOUR RATE_LIMIT_SLUG_CHECKS_PER_MINUTE RATE_LIMIT_EDITS_PER_MINUTE \
  RATE_LIMIT_PAGE_EDITS_PER_HOUR RATE_LIMIT_JOB_POLLS_PER_MINUTE RATE_LIMIT_READS_PER_MINUTE \
  RATE_LIMIT_ANSWERS_PER_MINUTE RATE_LIMIT_PHOTOS_PER_HOUR RATE_LIMIT_PIN_GUESSES_PER_HOUR \
  RATE_LIMIT_PAGE_PIN_GUESSES_PER_HOUR RATE_LIMIT_PAGE_PIN_GUESSES_PER_MONTH \
  RATE_LIMIT_REPORTS_PER_HOUR RATE_LIMIT_ADMIN_PER_MINUTE RATE_LIMIT_ADMIN_FAILURES_PER_HOUR

read -r nats_port redis_port api_port projector_port restore_port <<< "$(free_ports 5)"
mkdir -p "$work/nats" "$work/redis" "$work/restore-nats"

start nats "$nats_server" -js -a 127.0.0.1 -p "$nats_port" -sd "$work/nats"
start redis redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$work/redis" --save '' --appendonly no
wait_until "nats-server on :$nats_port" 20 listening "$nats_port"
wait_until "redis-server on :$redis_port" 20 listening "$redis_port"

export NATS_URL="nats://127.0.0.1:$nats_port"
export REDIS_URL="redis://127.0.0.1:$redis_port"
export DATABASE_PATH="$work/valentine.db"
export READ_MODEL_ID=main
export LOG_FORMAT=text RUST_LOG=info
export RATE_LIMIT_PAGES_PER_HOUR=0 RATE_LIMIT_SLUG_CHECKS_PER_MINUTE=0 RATE_LIMIT_EDITS_PER_MINUTE=0 \
  RATE_LIMIT_PAGE_EDITS_PER_HOUR=0 RATE_LIMIT_JOB_POLLS_PER_MINUTE=0 RATE_LIMIT_READS_PER_MINUTE=0 \
  RATE_LIMIT_REPORTS_PER_HOUR=0 RATE_LIMIT_ADMIN_PER_MINUTE=0
IP_HASH_SECRET="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
export IP_HASH_SECRET

# Two admins with one-off tokens: their names are what the decisions record.
declare -A admin_token
entries=()
for name in ana ben; do
  issued=$(RUST_LOG=warn "$bin" admin-token --name "$name" 2>> "$logs/ops.log")
  admin_token[$name]=$(awk '$1 == "token:" { print $2 }' <<< "$issued")
  entries+=("$(sed -n 's/^ADMIN_TOKEN_HASH=//p' <<< "$issued")")
  [ -n "${admin_token[$name]}" ] || die "no admin token for $name"
done
ADMIN_TOKEN_HASH=$(IFS=,; echo "${entries[*]}")
export ADMIN_TOKEN_HASH

start projector env VIEWS_CHECKPOINT_SECS=1 PROJECTOR_HEALTH_ADDR="127.0.0.1:$projector_port" "$bin" projector
wait_until "the projector's /ready" 60 answers_200 "http://127.0.0.1:$projector_port/ready"
wait_until "the read model at $DATABASE_PATH" 60 test -L "$DATABASE_PATH"
start api env BIND_ADDR="127.0.0.1:$api_port" "$bin" api
base="http://127.0.0.1:$api_port"
wait_until "the API's /ready" 60 answers_200 "$base/ready"
say "system up: NATS :$nats_port, Redis :$redis_port, API :$api_port"

ops() { RUST_LOG=warn "$bin" "$@" 2>> "$logs/ops.log"; }
status_json() { ops status --json; }
events_last() { status_json | jq '.streams[] | select(.name == "EVENTS") | .last_sequence'; }

# ---- the API, and what was done with it -------------------------------------------------

state="$work/state.json"
echo '{}' > "$state"
update_state() { jq "$@" "$state" > "$state.new" && mv "$state.new" "$state"; }

last_position=0
STATUS='' BODY='' POSITION=''
# call METHOD PATH [TOKEN] [JSON] [ADMIN]: TOKEN is the edit token, ADMIN the name of the
# admin whose bearer token goes along; reads wait for the latest write.
call() {
  local method=$1 path=$2 token=${3:-} body=${4:-} admin=${5:-}
  local args=(-sS -X "$method" -o "$work/body" -D "$work/headers" -w '%{http_code}')
  [ -n "$token" ] && args+=(-H "X-Edit-Token: $token")
  [ -n "$admin" ] && args+=(-H "Authorization: Bearer ${admin_token[$admin]}")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  [ "$method" = GET ] && args+=(-H "Valentine-Min-Position: $last_position")
  STATUS=$(curl "${args[@]}" "$base$path")
  BODY=$(cat "$work/body")
  POSITION=$(tr -d '\r' < "$work/headers" | awk 'tolower($1) == "valentine-position:" { print $2 }')
  if [ -n "$POSITION" ] && [ "$POSITION" -gt "$last_position" ]; then last_position=$POSITION; fi
}
expect() { # expect STATUS... WHAT
  local what=${*: -1} s
  for s in "${@:1:$#-1}"; do [ "$STATUS" = "$s" ] && return 0; done
  die "$what: answered $STATUS: $BODY"
}
token_of() { jq -r --arg k "$1" '.[$k].edit_token' "$state"; }
step() { # step SLUG JSON: records a step of SLUG's life
  update_state --arg k "$1" --argjson step "$2" '.[$k].steps += [$step]'
}

# create SLUG JSON
create() {
  local slug=$1 body=$2
  call POST /api/pages "" "$body"
  expect 201 "create $slug"
  local token answer=$STATUS position=$POSITION
  token=$(jq -r .edit_token <<< "$BODY")
  update_state --arg k "$slug" --arg token "$token" --argjson id "$(jq .page.id <<< "$BODY")" '
    .[$k] = {slug: $k, page_id: $id, edit_token: $token, steps: [], deleted: false}'
  step "$slug" "$(jq -cn --argjson sent "$body" --argjson pos "$position" --argjson answer "$answer" \
    '{action: "create", answer: $answer, position: $pos, sent: $sent}')"
}

# update SLUG JSON FIELD...: a PATCH by the author that changes exactly the FIELDs named
update() {
  local slug=$1 body=$2
  shift 2
  call PATCH "/api/pages/$slug" "$(token_of "$slug")" "$body"
  expect 200 "update of $slug"
  step "$slug" "$(jq -cn --argjson sent "$body" --argjson pos "$POSITION" \
    --argjson fields "$(jq -cn '$ARGS.positional' --args "$@")" \
    '{action: "update", changed_fields: $fields, position: $pos, sent: $sent}')"
}

# restore SLUG STREAM_SEQUENCE: the author brings the words back as they were after that event
restore() {
  local slug=$1 at=$2 body
  body=$(jq -cn --argjson at "$at" '{stream_sequence: $at}')
  call POST "/api/pages/$slug/restore" "$(token_of "$slug")" "$body"
  expect 200 "restore of $slug to $at"
  step "$slug" "$(jq -cn --argjson sent "$body" --argjson pos "$POSITION" \
    '{action: "restore", position: $pos, sent: $sent}')"
}

# report SLUG JSON [ANSWER]: anyone's report; ANSWER defaults to 202 (taken); its position is
# the stream's last, as nothing else writes meanwhile
report() {
  local slug=$1 body=$2 answer=${3:-202} position=null
  call POST "/api/pages/$slug/report" "" "$body"
  expect "$answer" "report of $slug"
  if [ "$answer" = 202 ]; then
    position=$(events_last)
    step "$slug" "$(jq -cn --argjson sent "$body" --argjson pos "$position" \
      '{action: "report", answer: 202, position: $pos, sent: $sent}')"
  else
    step "$slug" "$(jq -cn --argjson sent "$body" --argjson answer "$STATUS" --argjson refusal "$BODY" \
      '{action: "report refused (nothing stored)", answer: $answer, refusal: $refusal, sent: $sent}')"
  fi
}

# moderate SLUG take-down|reinstate ADMIN REASON: a decision in the console
moderate() {
  local slug=$1 action=$2 admin=$3 body
  body=$(jq -cn --arg reason "$4" '{reason: $reason}')
  call POST "/api/admin/pages/$slug/$action" "" "$body" "$admin"
  expect 200 "$action of $slug by $admin"
  [ "$(jq -r .by <<< "$BODY")" = "$admin" ] || die "$action of $slug: recorded as $(jq .by <<< "$BODY")"
  local position
  position=$(jq .position <<< "$BODY")
  [ "$position" -gt "$last_position" ] && last_position=$position
  step "$slug" "$(jq -cn --arg action "$action" --arg admin "$admin" --argjson sent "$body" \
    --argjson pos "$position" --argjson answer "$BODY" \
    '{action: $action, admin: $admin, position: $pos, sent: $sent, answer: $answer}')"
}

# reader SLUG ANSWER: a read by someone without the token
reader() {
  local slug=$1 answer=$2
  call GET "/api/pages/$slug"
  expect "$answer" "a reader's read of $slug"
  step "$slug" "$(jq -cn --argjson answer "$STATUS" --argjson body "$BODY" \
    '{action: "read by a reader", answer: $answer, body: $body}')"
}

# delete SLUG: by its author, which erases
delete() {
  local slug=$1
  call DELETE "/api/pages/$slug" "$(token_of "$slug")"
  expect 200 "delete of $slug"
  step "$slug" "$(jq -cn --argjson pos "$POSITION" '{action: "delete (erases)", position: $pos}')"
  update_state --arg k "$slug" '.[$k].deleted = true'
}

story() { update_state --arg k "$1" --arg s "$2" '.[$k].story = $s'; }

# ---- the history -------------------------------------------------------------------------

create heron "$(jq -cn '{slug: "heron", title: "Still standing gc3-heron-title-1",
  message: "On one leg, for you gc3-heron-message-1", sender_name: "Sam", recipient_name: "Alex",
  template_id: "classic"}')"
report heron '{"reason": "spam"}'
report heron '{"reason": "other", "note": "Looks copied from a card shop gc3-heron-note-1"}'
moderate heron take-down ana "Two reports; checking with the author gc3-heron-takedown-1"
reader heron 451
update heron '{"title": "Standing still gc3-heron-title-2", "message": "My own words, written for you gc3-heron-message-2"}' \
  title message
edited_while_down=$(jq '.heron.steps[-1].position' "$state")
moderate heron reinstate ben "The author rewrote it gc3-heron-reinstate-1"
update heron '{"message": "A change of heart gc3-heron-message-3"}' message
restore heron "$edited_while_down"
story heron "created (classic); reported twice (spam without a note, other with a note); taken down by ana; a reader refused with 451; title and message edited by its author while down; reinstated by ben; message edited again, then restored to the edit made while down; alive and up"

create egret "$(jq -cn '{slug: "egret", title: "White feathers gc3-egret-title-1",
  message: "Meet me by the river gc3-egret-message-1", recipient_name: "Kim", template_id: "modern"}')"
report egret '{"reason": "harassment", "note": "It names my neighbour gc3-egret-note-1"}'
moderate egret take-down ana "Names a private person gc3-egret-takedown-1"
reader egret 451
report egret '{"reason": "spam", "note": "Refused: it is down gc3-egret-note-2"}' 451
story egret "created (modern); reported with a note; taken down by ana; a reader and a second report refused with 451; alive and down"

create stork "$(jq -cn '{slug: "stork", title: "Special delivery gc3-stork-title-1",
  message: "Something is on its way gc3-stork-message-1", sender_name: "Jo", template_id: "playful"}')"
report stork '{"reason": "personal_info", "note": "Has my address in it gc3-stork-note-1"}'
delete stork
story stork "created (playful); reported with a note; deleted by its author (erased: the report and its note with it)"

read_model_has() { status_json | jq -e "$1" > /dev/null; }
commits=$(events_last)
wait_until "the read model holding all $commits events" 60 read_model_has "
  .read_model.events_through == $commits and .read_model.events_behind == 0"

# How each slug's author and the console last read it.
for slug in heron egret; do
  token=$(token_of "$slug")
  call GET "/api/pages/$slug/history" "$token"
  expect 200 "history of $slug"
  update_state --arg k "$slug" --argjson h "$BODY" '.[$k].history = $h.events'
  call GET "/api/pages/$slug" "$token"
  expect 200 "the author's read of $slug"
  update_state --arg k "$slug" --argjson page "$BODY" '.[$k].page = ($page | del(.view_count)) | .[$k].views += 1'
  call GET "/api/admin/pages/$slug/reports" "" "" ana
  expect 200 "the console's reports of $slug"
  update_state --arg k "$slug" --argjson r "$BODY" '.[$k].console_reports = $r.reports'
done
for slug in heron egret stork; do
  call GET "/api/admin/pages/$slug/events" "" "" ben
  expect 200 "the console's events of $slug"
  update_state --arg k "$slug" --argjson e "$BODY" '.[$k].console_events = $e.events'
done
call GET /api/pages/stork
expect 404 "a read of the erased stork"
# The author's reads count views, tallied about a second later: the backup waits for them
# to be projected and checkpointed, so the corpus holds them and nothing moves after it.
views=$(jq '[.[].views // 0] | add' "$state")
wait_until "the read model counting all $views views" 60 read_model_has "
  .read_model.views == $views and .read_model.views_behind == 0 and .read_model.views_unsaved == 0"

# What must hold before the corpus is worth keeping.
jq -e '.heron.page.message | endswith("gc3-heron-message-2")' "$state" > /dev/null || die "heron's restore"
jq -e '.heron.page.taken_down == null and (.egret.page.taken_down.reason | endswith("gc3-egret-takedown-1"))' \
  "$state" > /dev/null || die "the pages' taken_down"
jq -e '[.heron.history, .egret.history] | tostring | contains("-note-") | not' "$state" > /dev/null ||
  die "a report shown to an author"
jq -e '[.heron.console_events[], .egret.console_events[]] | map(select(.event_type == "PageReported")) | length == 3' \
  "$state" > /dev/null || die "the console misses a report"
jq -e '.stork.console_events | tostring | contains("gc3-stork-") | not' "$state" > /dev/null ||
  die "the console still shows the erased stork"

# ---- backup, rebuild, verify ------------------------------------------------------------

ops backup "$work/backup" > /dev/null
if grep -rl 'gc3-stork-' "$work/backup" > /dev/null; then die "the backup holds the erased stork"; fi
if grep -rl 'gc3-egret-note-2' "$work/backup" > /dev/null; then die "the backup holds a refused report"; fi
ops rebuild --json > "$work/rebuild.json"
ops rebuild --verify --json > "$work/verify.json"
hash=$(jq -r .content_hash "$work/rebuild.json")
jq -e --arg h "$hash" '.live == $h and .fresh == $h' "$work/verify.json" > /dev/null ||
  die "rebuild --verify disagrees: $(cat "$work/verify.json")"
events_last=$(jq '.streams[] | select(.name == "EVENTS") | .last_sequence' "$work/backup/backup.json")
say "backup written; content hash $hash"

start nats-restore "$nats_server" -js -a 127.0.0.1 -p "$restore_port" -sd "$work/restore-nats"
wait_until "nats-server on :$restore_port" 20 listening "$restore_port"
NATS_URL="nats://127.0.0.1:$restore_port" REDIS_URL='' DATABASE_PATH="$work/restored.db" \
  ops restore "$work/backup" > /dev/null
restored=$(NATS_URL="nats://127.0.0.1:$restore_port" REDIS_URL='' DATABASE_PATH="$work/restored.db" ops rebuild)
[ "$restored" = "$hash" ] || die "the restored backup rebuilds to $restored, not $hash"
say "restored into a fresh server: same content hash"

# ---- the corpus -------------------------------------------------------------------------

mkdir -p "$out"
cp "$work/backup/backup.json" "$work/backup"/*.jsonl "$work/backup/read-model.sqlite" "$out/"
jq -n --arg hash "$hash" --argjson last "$events_last" --arg by "$written_by" \
  '{content_hash: $hash, events_last_sequence: $last, written_by: $by}' > "$out/expected.json"
jq '{about: "Every slug of the corpus: its story, the edit token of its life (null once deleted), each step sent and where it landed (or how it was refused), the page and history as its author last read them, and the events and reports as the console last read them; views counts the reads by its author, the only views. The admins ana and ben had one-off tokens.",
  admins: ["ana", "ben"],
  slugs: with_entries(.value |= {story, alive: (.deleted | not), taken_down: (.page.taken_down != null),
    edit_token: (if .deleted then null else .edit_token end), page_id, views: (.views // 0), steps,
    page, history, console_reports, console_events})}' "$state" > "$out/pages.json"
say "corpus written to $out (written by $written_by)"
