#!/usr/bin/env bash
# Fuzzing the HTTP API against its own OpenAPI document (Schemathesis), on the real stack:
# builds the `valentine` binary, starts nats-server, redis-server, a projector and the API on
# free loopback ports with throwaway data, and runs Schemathesis against
# $STACK_BASE/api/openapi.json with every check it has: no 5xx, every answer's status,
# content type, headers and body as documented, schema-valid requests accepted and invalid
# ones refused, the methods a path lacks refused, a deleted page gone, answers within 15 s.
# Then scripts/fuzz-coverage.py fails unless every documented (operation, status) was seen.
#
# Six runs, each against an API set up to reach answers the others cannot:
#   1. healthy: every operation, every phase (boundary values, random data, and stateful
#      sequences that follow the document's links from a create to the page's reads, updates,
#      history and deletion with its edit token). Limits are raised so they do not get in
#      the way: Schemathesis cannot vary X-Forwarded-For, so every request is one client.
#   2. author: the page operations on two pages made for it, with their edit tokens, so
#      that updates are fuzzed past the token check and a deletion goes through; and a
#      template that does not exist.
#   3. admin: the console's operations with an admin token, on a page made to be taken down
#      and reinstated.
#   4. queued: an API whose read model no projector fills answers creates 202; its job is polled.
#   5. tight: an API with every budget 1 and a body limit of 1 KiB (the least it takes)
#      answers 429 and 413.
#   6. outage: nats-server stopped; what needs the event store answers 503.
#
#   FUZZ_EXAMPLES   most test cases per operation in the healthy run (default 30)
#   FUZZ_SEED       Schemathesis seed, to replay a run (default: a new one, printed)
#   FUZZ_REPORT     where the reports go (default .run/fuzz; NDJSON and JUnit per run)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

STACK_NAME=fuzz
# shellcheck source=scripts/lib/stack.sh
. scripts/lib/stack.sh
stack_temp
tmp="$STACK_TMP"

command -v schemathesis > /dev/null || stack_die "schemathesis is missing; run scripts/bootstrap.sh"
examples="${FUZZ_EXAMPLES:-30}"
report="${FUZZ_REPORT:-.run/fuzz}"
rm -rf "$report"
mkdir -p "$report"
seed=(--seed "${FUZZ_SEED:-$(python3 -c 'import secrets; print(secrets.randbits(64))')}")
started=$SECONDS

cargo build --locked -q -p valentine-cli
bin="$(realpath "${CARGO_TARGET_DIR:-target}")/debug/valentine"

stack_clear_settings
export RUST_LOG=info NO_COLOR=1
read -r redis_port api_port queued_port tight_port <<< "$(stack_free_ports 4)"
roomy=(RATE_LIMIT_PAGES_PER_HOUR=1000000 RATE_LIMIT_SLUG_CHECKS_PER_MINUTE=1000000
  RATE_LIMIT_EDITS_PER_MINUTE=1000000 RATE_LIMIT_PAGE_EDITS_PER_HOUR=1000000
  RATE_LIMIT_JOB_POLLS_PER_MINUTE=1000000 RATE_LIMIT_READS_PER_MINUTE=1000000
  RATE_LIMIT_ANSWERS_PER_MINUTE=1000000 RATE_LIMIT_PHOTOS_PER_HOUR=1000000
  RATE_LIMIT_PIN_GUESSES_PER_HOUR=1000000 RATE_LIMIT_PAGE_PIN_GUESSES_PER_HOUR=1000000
  RATE_LIMIT_PAGE_PIN_GUESSES_PER_MONTH=1000000 RATE_LIMIT_REPORTS_PER_HOUR=1000000
  RATE_LIMIT_ADMIN_PER_MINUTE=1000000 RATE_LIMIT_ADMIN_FAILURES_PER_HOUR=1000000)
tight=(RATE_LIMIT_PAGES_PER_HOUR=1 RATE_LIMIT_SLUG_CHECKS_PER_MINUTE=1 RATE_LIMIT_EDITS_PER_MINUTE=1
  RATE_LIMIT_PAGE_EDITS_PER_HOUR=1 RATE_LIMIT_JOB_POLLS_PER_MINUTE=1 RATE_LIMIT_READS_PER_MINUTE=1
  RATE_LIMIT_ANSWERS_PER_MINUTE=1 RATE_LIMIT_PHOTOS_PER_HOUR=1 RATE_LIMIT_PIN_GUESSES_PER_HOUR=1
  RATE_LIMIT_PAGE_PIN_GUESSES_PER_HOUR=1 RATE_LIMIT_PAGE_PIN_GUESSES_PER_MONTH=1 RATE_LIMIT_REPORTS_PER_HOUR=1
  RATE_LIMIT_ADMIN_PER_MINUTE=1 RATE_LIMIT_ADMIN_FAILURES_PER_HOUR=1000000)
# One admin, for the console's operations (the runs without the token see them refused).
issued="$("$bin" admin-token --name fuzz 2> /dev/null)"
admin_token="$(sed -n 's/^token: //p' <<< "$issued")"
admin_entry="$(sed -n 's/^ADMIN_TOKEN_HASH=//p' <<< "$issued")"
[ -n "$admin_token" ] && [ -n "$admin_entry" ] || stack_die "valentine admin-token printed no token"
admin=(ADMIN_TOKEN_HASH="$admin_entry")
stack_up "$bin" "$tmp" -1 "$redis_port" "127.0.0.1:$api_port" 1 no \
  IP_HASH_SECRET=fuzz "${roomy[@]}" "${admin[@]}" FRONTEND_DOMAIN="http://127.0.0.1:$api_port"
healthy="$STACK_BASE"

# Two more APIs on the same servers. Limits live in Redis, so the tight API (on the same read
# model) sees what the others used: its limits of 1 are spent at once. The queued API has a
# read model of its own that no projector fills, so every create it stores is answered 202
# (with a projector, one that outran the answer would be a 201, by chance).
stack_start api-queued env BIND_ADDR="127.0.0.1:$queued_port" IP_HASH_SECRET=fuzz SYNC_WAIT_MS=0 \
  DATABASE_PATH="$tmp/queued/valentine.db" READ_MODEL_ID=queued "${roomy[@]}" "$bin" api
stack_start api-tight env BIND_ADDR="127.0.0.1:$tight_port" IP_HASH_SECRET=fuzz MAX_BODY_BYTES=1024 \
  "${tight[@]}" "${admin[@]}" "$bin" api
status_of() { curl -s -o /dev/null -w '%{http_code}' "$1"; }
ready_at() { [ "$(status_of "http://127.0.0.1:$1/ready")" = 200 ]; }
for port in "$queued_port" "$tight_port"; do
  stack_wait_until "GET /ready on :$port answering 200" 60 ready_at "$port"
done
stack_say "stack up at $healthy (queued: :$queued_port, tight: :$tight_port); seed ${seed[1]}"

curl -sf "$healthy/api/openapi.json" > "$report/openapi.json" || stack_die "no OpenAPI document"

failed=()
# fuzz NAME BASE_URL [ARGS...]: one Schemathesis run, with $tmp/NAME.toml as its settings
# when it exists; its reports in $report/NAME. A failure is reported as found, unshrunk:
# shrinking a stateful sequence can take minutes.
fuzz() {
  local name=$1 base=$2 config=()
  shift 2
  [ -f "$tmp/$name.toml" ] && config=(--config-file "$tmp/$name.toml")
  stack_say "run $name"
  if ! schemathesis "${config[@]}" run "$base/api/openapi.json" --checks all "${seed[@]}" \
    --report ndjson,junit --report-dir "$report/$name" --no-color --output-truncate true \
    --generation-database none --no-shrink --warnings off --request-timeout 30 "$@" 3>&- 4>&-; then
    failed+=("$name")
  fi
}

# seed_page NAME [TEMPLATE]: creates a page (classic unless TEMPLATE); prints its slug and
# edit token.
seed_page() {
  local slug="fuzz-$1-$RANDOM$RANDOM" template="${2:-classic}"
  curl -sf -H 'content-type: application/json' "$healthy/api/pages" \
    -d "{\"slug\": \"$slug\", \"title\": \"Seed\", \"message\": \"A page to act on\", \"template_id\": \"$template\"}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["edit_token"])' |
    sed "s/^/$slug /"
}

# 1. The API answers within 15 s or gives up with 503, so anything slower is a failure.
cat > "$tmp/healthy.toml" << EOF
# Any bytes fit an upload's schema; only decoding tells an image of the declared type from
# the rest (415, 422), and a body over 8 MiB is 413.
[[operations]]
include-operation-id = "put_photo"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "413", "415", "422", "429", "5xx"]

# A time of the right shape may still name no day (2026-13-45): 400, which no pattern can say.
[[operations]]
include-operation-id = "page_as_of"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "429", "5xx"]
EOF
fuzz healthy "$healthy" --max-examples "$examples" --max-response-time 15

# 2.
read -r kept_slug kept_token <<< "$(seed_page kept)"
read -r gone_slug gone_token <<< "$(seed_page gone)"
# A page no run changes, for replies (the author run may give the kept page a PIN, which a
# reply then needs).
read -r quiet_slug quiet_token <<< "$(seed_page quiet proposal)"
# A page the admin run takes down and puts back up.
read -r judged_slug judged_token <<< "$(seed_page judged)"
if [ -z "$kept_token" ] || [ -z "$gone_token" ] || [ -z "$quiet_token" ] || [ -z "$judged_token" ]; then
  stack_die "could not create the pages to act on"
fi
cat > "$tmp/author.toml" << EOF
# An HTTP service takes headers it does not know (proxies add their own). With two optional
# headers on a read (Valentine-Min-Position, X-Page-Pin), the coverage phase would count a
# made-up header beside one of them as a violation that must be refused.
[generation]
allow-extra-parameters = false

[[operations]]
include-operation-id = ["get_page", "update_page", "page_history", "export_page", "page_insights",
  "put_photo", "delete_photo", "get_photo", "qr_code", "og_image", "restore_page", "report_page"]
parameters = { "path.slug" = "$kept_slug", "header.X-Edit-Token" = "$kept_token" }

# Any bytes fit an upload's schema; only decoding tells an image of the declared type from
# the rest (415, 422), and a body over 8 MiB is 413.
[[operations]]
include-operation-id = "put_photo"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "413", "415", "422", "429", "5xx"]

# Any position fits the schema; only the page's history has the few that name a version.
[[operations]]
include-operation-id = "restore_page"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "429", "5xx"]

# The quiet page (a proposal) takes a "yes", the first value a generator tries: the first
# one is recorded, then 409. (Not the
# kept page: this run's updates may give that one a PIN, which a reply then needs.)
[[operations]]
include-operation-id = ["answer_page", "unsubscribe"]
parameters = { "path.slug" = "$quiet_slug" }

[[operations]]
include-operation-id = "delete_page"
parameters = { "path.slug" = "$gone_slug", "header.X-Edit-Token" = "$gone_token" }

# Random template ids mostly hit one of the eight, which the healthy run learns from the list.
[[operations]]
include-operation-id = "get_template"
parameters = { "path.id" = "no-such-design" }
EOF
fuzz author "$healthy" --max-examples 15 --max-response-time 15 --phases coverage,fuzzing \
  --include-operation-id get_page --include-operation-id update_page \
  --include-operation-id page_history --include-operation-id delete_page \
  --include-operation-id export_page --include-operation-id get_template \
  --include-operation-id page_insights --include-operation-id answer_page --include-operation-id unsubscribe \
  --include-operation-id put_photo --include-operation-id delete_photo --include-operation-id get_photo \
  --include-operation-id qr_code --include-operation-id og_image \
  --include-operation-id restore_page --include-operation-id report_page

# 3. The console, signed in. Slugs in general are random (their events are empty, their
# reports 404); the page to judge is taken down and reinstated, many times over.
cat > "$tmp/admin.toml" << EOF
[generation]
allow-extra-parameters = false

[[operations]]
include-operation-id = ["take_down", "reinstate"]
parameters = { "path.slug" = "$judged_slug" }
checks.positive_data_acceptance.expected-statuses = ["2xx", "409", "429", "5xx"]

[[operations]]
include-operation-id = "page_as_of"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "404", "429", "5xx"]

[[operations]]
include-operation-id = "page_reports"
checks.positive_data_acceptance.expected-statuses = ["2xx", "404", "429", "5xx"]

# Nothing is parked on a healthy stream: every decision names no record (404).
[[operations]]
include-operation-id = ["retry_parked", "skip_parked"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "404", "409", "429", "5xx"]
EOF
admin_ops=(--include-operation-id session --include-operation-id search_pages
  --include-operation-id page_events --include-operation-id page_as_of --include-operation-id page_reports
  --include-operation-id take_down --include-operation-id reinstate --include-operation-id reports
  --include-operation-id message --include-operation-id streams --include-operation-id lag
  --include-operation-id parked --include-operation-id retry_parked --include-operation-id skip_parked)
fuzz admin "$healthy" --max-examples 15 --max-response-time 15 --phases coverage,fuzzing \
  -H "Authorization: Bearer $admin_token" "${admin_ops[@]}"

# 4. Creates, and polls of the job of one made here. (Stateful sequences are left to the
# healthy run: on two operations Schemathesis can find no rule to go on with, and errs.)
# Creates there are answered 202 (a few tries, should one fail for another reason).
queued_job=""
for _ in $(seq 20); do
  queued_job="$(curl -sf -H 'content-type: application/json' "http://127.0.0.1:$queued_port/api/pages" \
    -d "{\"slug\": \"fuzz-queued-$RANDOM$RANDOM\", \"title\": \"Queued\", \"message\": \"A job to poll\"}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin).get("job_id", ""))')"
  [ -n "$queued_job" ] && break
done
[ -n "$queued_job" ] || stack_die "no create on the queued API was answered 202"
# This API's read model is never filled: a job poll naming any position a write gave is
# rightly answered 503 behind (Valentine-Min-Position), so 503 is an expected answer here.
cat > "$tmp/queued.toml" << EOF
[checks.not_a_server_error]
expected-statuses = ["2xx", "3xx", "4xx", "503"]

[[operations]]
include-operation-id = "job_status"
parameters = { "path.job_id" = "$queued_job" }
EOF
fuzz queued "http://127.0.0.1:$queued_port" --max-examples 15 --max-response-time 15 \
  --phases coverage,fuzzing --include-operation-id create_page --include-operation-id job_status

# A job id no create made, for the runs that poll one.
job_id="$(python3 -c 'import secrets; a = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"; print("0" + "".join(secrets.choice(a) for _ in range(25)))')"

# 5. A body over 1 KiB refused with 413, schema-valid or not, is what this run is for; and
# every budget, of 1, is spent by what came before. The page operations act on the kept page.
cat > "$tmp/tight.toml" << EOF
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "413", "429", "5xx"]

[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]

[[operations]]
include-operation-id = ["get_page", "page_history", "export_page", "delete_page", "page_insights",
  "put_photo", "delete_photo", "get_photo", "qr_code", "og_image", "restore_page", "report_page",
  "page_events", "page_as_of", "page_reports", "take_down", "reinstate"]
parameters = { "path.slug" = "$kept_slug", "header.X-Edit-Token" = "$kept_token" }

[[operations]]
include-operation-id = "put_photo"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "413", "415", "422", "429", "5xx"]

[[operations]]
include-operation-id = ["answer_page", "unsubscribe"]
parameters = { "path.slug" = "$kept_slug" }

[[operations]]
include-operation-id = ["page_as_of", "restore_page"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "413", "429", "5xx"]

[[operations]]
include-operation-id = "job_status"
parameters = { "path.job_id" = "$job_id" }
EOF
fuzz tight "http://127.0.0.1:$tight_port" --max-examples 10 --max-response-time 15 \
  --phases coverage,fuzzing \
  --include-operation-id create_page --include-operation-id update_page \
  --include-operation-id check_slug --include-operation-id suggest_slugs \
  --include-operation-id get_page --include-operation-id page_history \
  --include-operation-id export_page --include-operation-id delete_page --include-operation-id job_status \
  --include-operation-id page_insights --include-operation-id answer_page --include-operation-id unsubscribe \
  --include-operation-id put_photo --include-operation-id delete_photo --include-operation-id get_photo \
  --include-operation-id qr_code --include-operation-id og_image \
  --include-operation-id restore_page --include-operation-id report_page \
  -H "Authorization: Bearer $admin_token" "${admin_ops[@]}"

# 6. With NATS away, 503 is the right answer for what needs it (status_code_conformance
# still checks that it is documented there); 500 is still a failure. Valid data only, so
# that requests get as far as the event store: the kept page and its token, a job id, and a
# fresh Idempotency-Key (a create must not be a replay answered from the read model). Each
# such request waits for the NATS client's 10 s timeout, so there are few of them, in
# parallel, held to the API's own 15 s limit (plus slack).
stack_stop "$(stack_pid nats)"
for _ in $(seq 200); do
  [ "$(status_of "$healthy/ready")" = 503 ] && break
  sleep 0.1
done
[ "$(status_of "$healthy/ready")" = 503 ] || stack_die "GET /ready still not 503 with NATS stopped"
cat > "$tmp/outage.toml" << EOF
[checks.not_a_server_error]
expected-statuses = ["2xx", "3xx", "4xx", "503"]

[[operations]]
include-operation-id = ["get_page", "update_page", "delete_page", "page_history", "export_page",
  "put_photo", "delete_photo", "get_photo", "qr_code", "og_image", "restore_page", "report_page"]
parameters = { "path.slug" = "$kept_slug", "header.X-Edit-Token" = "$kept_token" }

[[operations]]
include-operation-id = ["page_events", "page_as_of", "take_down", "reinstate"]
parameters = { "path.slug" = "$judged_slug", "query.at" = "1" }

[[operations]]
include-operation-id = "message"
parameters = { "path.sequence" = "1" }

# Any bytes fit an upload's schema; only decoding tells an image of the declared type from
# the rest (415, 422), and a body over 8 MiB is 413.
[[operations]]
include-operation-id = "put_photo"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "413", "415", "422", "429", "5xx"]

[[operations]]
include-operation-id = ["answer_page", "unsubscribe"]
parameters = { "path.slug" = "$quiet_slug", "query.token" = "not-the-key" }

[[operations]]
include-operation-id = "job_status"
parameters = { "path.job_id" = "$job_id" }

# A create whose reveal time is out of range is refused (409) before the event store is
# asked; a few examples make one that gets as far as the store.
[[operations]]
include-operation-id = "create_page"
parameters = { "header.Idempotency-Key" = "$(python3 -c 'import uuid; print(uuid.uuid4())')" }
generation = { max-examples = 6 }
EOF
fuzz outage "$healthy" --max-examples 1 --max-response-time 20 --mode positive --phases fuzzing \
  --workers 4 -H "Authorization: Bearer $admin_token"

stack_say "runs done in $((SECONDS - started)) s"
python3 scripts/fuzz-coverage.py "$report/openapi.json" "$report"/*/ndjson-*.ndjson || failed+=(coverage)
[ ${#failed[@]} -eq 0 ] || stack_die "failed: ${failed[*]}; reports in $report"
stack_say "passed in $((SECONDS - started)) s; reports in $report"
