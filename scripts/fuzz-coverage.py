#!/usr/bin/env python3
"""Every documented answer of the API was seen: reads the OpenAPI document and the NDJSON
event files that `schemathesis run --report ndjson` wrote (one per run of scripts/fuzz.sh),
and fails unless each (operation, documented status) pair was answered at least once, or is
listed below with the Rust tests that provoke it.

    fuzz-coverage.py OPENAPI_JSON NDJSON...
"""

import json
import sys
from collections import Counter

# Answers a fuzz run against a healthy stack cannot provoke, each with the Rust tests
# (crates/api/tests/api/) that do. Nothing else may be missing.
COVERED_BY_RUST_TESTS = {
    # The console's lists read only the read model, which no run breaks.
    ("GET /api/admin/pages", "503"): [
        "console::a_failing_read_model_is_a_503_for_the_consoles_lists_and_for_reports",
    ],
    ("GET /api/admin/reports", "503"): [
        "console::a_failing_read_model_is_a_503_for_the_consoles_lists_and_for_reports",
    ],
    ("GET /api/admin/pages/{slug}/reports", "503"): [
        "console::a_failing_read_model_is_a_503_for_the_consoles_lists_and_for_reports",
    ],
    # The admin run judges one live page: a decision about a page that is not there, and a
    # report of a page taken down, need pages it does not make.
    ("POST /api/admin/pages/{slug}/take-down", "404"): [
        "console::reports_are_budgeted_and_a_page_taken_down_answers_451_to_all_but_its_author_until_reinstated",
    ],
    ("POST /api/admin/pages/{slug}/reinstate", "404"): [
        "console::reports_are_budgeted_and_a_page_taken_down_answers_451_to_all_but_its_author_until_reinstated",
    ],
    ("POST /api/pages/{slug}/report", "451"): [
        "console::reports_are_budgeted_and_a_page_taken_down_answers_451_to_all_but_its_author_until_reinstated",
    ],
    # Nothing is parked on a healthy stream: a parked event is garbage published on purpose.
    ("POST /api/admin/parked/{consumer}/{sequence}/retry", "200"): [
        "console::the_console_shows_lag_rising_while_no_projector_runs_and_decides_about_parked_events",
    ],
    ("POST /api/admin/parked/{consumer}/{sequence}/retry", "409"): [
        "console::the_console_shows_lag_rising_while_no_projector_runs_and_decides_about_parked_events",
    ],
    ("POST /api/admin/parked/{consumer}/{sequence}/skip", "200"): [
        "console::the_console_shows_lag_rising_while_no_projector_runs_and_decides_about_parked_events",
    ],
    ("POST /api/admin/parked/{consumer}/{sequence}/skip", "409"): [
        "console::the_console_shows_lag_rising_while_no_projector_runs_and_decides_about_parked_events",
    ],
    # A restore names a position of the page's history, which a generator does not know; and
    # the page's cap on changes is reached only past the budget of edits.
    ("POST /api/pages/{slug}/restore", "200"): [
        "console::the_author_sees_what_each_change_did_and_restores_an_earlier_version_as_a_new_change",
    ],
    ("POST /api/pages/{slug}/restore", "409"): ["console::a_restore_counts_as_a_change_against_the_pages_limit"],
    # Bodies of one short reason or number are seldom over the tight run's 1 KiB, or
    # malformed in every run.
    ("POST /api/admin/pages/{slug}/take-down", "413"): [
        "console::the_consoles_decisions_restores_and_reports_refuse_malformed_and_oversized_bodies",
    ],
    ("POST /api/admin/pages/{slug}/reinstate", "413"): [
        "console::the_consoles_decisions_restores_and_reports_refuse_malformed_and_oversized_bodies",
    ],
    ("POST /api/admin/parked/{consumer}/{sequence}/retry", "400"): [
        "console::the_consoles_decisions_restores_and_reports_refuse_malformed_and_oversized_bodies",
    ],
    ("POST /api/admin/parked/{consumer}/{sequence}/retry", "413"): [
        "console::the_consoles_decisions_restores_and_reports_refuse_malformed_and_oversized_bodies",
    ],
    ("POST /api/admin/parked/{consumer}/{sequence}/skip", "413"): [
        "console::the_consoles_decisions_restores_and_reports_refuse_malformed_and_oversized_bodies",
    ],
    ("POST /api/pages/{slug}/restore", "413"): [
        "console::the_consoles_decisions_restores_and_reports_refuse_malformed_and_oversized_bodies",
    ],
    ("POST /api/pages/{slug}/report", "400"): [
        "console::the_consoles_decisions_restores_and_reports_refuse_malformed_and_oversized_bodies",
    ],
    ("POST /api/pages/{slug}/report", "413"): [
        "console::the_consoles_decisions_restores_and_reports_refuse_malformed_and_oversized_bodies",
    ],
    ("POST /api/admin/pages/{slug}/take-down", "400"): [
        "console::the_consoles_decisions_restores_and_reports_refuse_malformed_and_oversized_bodies",
    ],
    ("POST /api/admin/pages/{slug}/reinstate", "400"): [
        "console::the_consoles_decisions_restores_and_reports_refuse_malformed_and_oversized_bodies",
    ],
    ("POST /api/admin/parked/{consumer}/{sequence}/skip", "400"): [
        "console::the_consoles_decisions_restores_and_reports_refuse_malformed_and_oversized_bodies",
    ],
    ("POST /api/pages/{slug}/restore", "400"): [
        "console::the_consoles_decisions_restores_and_reports_refuse_malformed_and_oversized_bodies",
    ],
    # Schemathesis sends only well-formed JSON; a PATCH path that is not valid percent-encoded
    # UTF-8 gets a 400 too, but only now and then.
    ("PATCH /api/pages/{slug}", "400"): [
        "http::an_update_whose_body_is_not_json_is_a_400_before_the_page_or_token_is_looked_at",
    ],
    # A page's cap on changes (MAX_EVENTS_PER_PAGE) is reached only after the budget of
    # edits per client, which this run cannot raise and spend in one API.
    ("PATCH /api/pages/{slug}", "409"): [
        "limits::a_page_takes_changes_up_to_its_limit_of_events_then_only_deletion",
    ],
    # A read model that fails under a read: the test breaks its tables.
    ("GET /api/pages/{slug}", "503"): [
        "http::a_failing_read_model_is_a_503_for_reads_and_history_that_reveals_nothing",
    ],
    ("GET /api/pages/{slug}/history", "503"): [
        "http::a_failing_read_model_is_a_503_for_reads_and_history_that_reveals_nothing",
    ],
    ("GET /api/pages/{slug}/insights", "503"): [
        "http::a_failing_read_model_is_a_503_for_reads_and_history_that_reveals_nothing",
    ],
    # A live stream with the right token never ends: a fuzzer would wait for it forever.
    ("GET /api/pages/{slug}/insights/stream", "200"): [
        "answers::an_open_and_a_reply_reach_the_authors_live_stream_at_once",
    ],
    ("GET /api/pages/{slug}/insights/stream", "429"): [
        "answers::live_streams_are_budgeted_per_client_like_reads",
        "answers::one_client_holds_at_most_four_live_streams_and_gets_its_place_back_when_one_ends",
    ],
    ("GET /api/pages/{slug}/insights/stream", "503"): [
        "answers::live_streams_are_bounded_per_process_and_a_closed_one_frees_its_place",
    ],
    # A body over the limit: the tight run's bodies of a reply are seldom over its 1 KiB.
    ("POST /api/pages/{slug}/answer", "413"): [
        "answers::a_reply_fits_its_design_and_anything_else_is_refused_with_its_reason",
    ],
    # The key of an unsubscribe link is sealed in the event stream: only a mail carries it.
    ("POST /api/pages/{slug}/unsubscribe", "200"): [
        "answers::an_address_is_set_changed_and_unsubscribed_by_its_link_and_never_shown_publicly",
    ],
    # An upload that is an image of its declared type, and what follows from one: a fuzzer
    # sends bytes that decode as no image.
    ("PUT /api/pages/{slug}/photo", "200"): ["moments::photos_are_cleaned_stored_cached_and_hostile_files_refused"],
    ("PUT /api/pages/{slug}/photo", "413"): ["moments::photos_are_cleaned_stored_cached_and_hostile_files_refused"],
    ("PUT /api/pages/{slug}/photo", "415"): ["moments::photos_are_cleaned_stored_cached_and_hostile_files_refused"],
    ("PUT /api/pages/{slug}/photo", "422"): ["moments::photos_are_cleaned_stored_cached_and_hostile_files_refused"],
    ("GET /api/pages/{slug}/photo", "200"): ["moments::photos_are_cleaned_stored_cached_and_hostile_files_refused"],
    ("GET /api/pages/{slug}/photo", "304"): ["moments::photos_are_cleaned_stored_cached_and_hostile_files_refused"],
    ("GET /api/pages/{slug}/photo", "403"): ["moments::a_page_waits_for_its_moment_on_the_server_and_then_opens"],
    ("PUT /api/pages/{slug}/photo", "409"): [
        "moments::a_photo_counts_toward_the_pages_changes_and_waits_for_the_event_store",
    ],
    ("DELETE /api/pages/{slug}/photo", "409"): [
        "moments::a_photo_counts_toward_the_pages_changes_and_waits_for_the_event_store",
    ],
    ("PUT /api/pages/{slug}/photo", "503"): [
        "moments::a_photo_counts_toward_the_pages_changes_and_waits_for_the_event_store",
    ],
    ("PUT /api/pages/{slug}/photo", "429"): ["moments::photo_uploads_and_removals_have_budgets_per_client"],
    ("DELETE /api/pages/{slug}/photo", "429"): ["moments::photo_uploads_and_removals_have_budgets_per_client"],
    # The photo, QR code and preview read the read model only (the photo itself only once
    # there is one): the test breaks its tables.
    ("GET /api/pages/{slug}/photo", "503"): [
        "http::a_failing_read_model_is_a_503_for_reads_and_history_that_reveals_nothing",
    ],
    ("GET /api/pages/{slug}/qr.svg", "503"): [
        "http::a_failing_read_model_is_a_503_for_reads_and_history_that_reveals_nothing",
    ],
    ("GET /{slug}/og.png", "503"): [
        "http::a_failing_read_model_is_a_503_for_reads_and_history_that_reveals_nothing",
    ],
    # A node behind the position a read names (Valentine-Min-Position): the fuzzed stack has
    # one node, whose read model keeps up.
    ("GET /api/slugs/check/{slug}", "503"): [
        "nodes::a_write_on_one_node_is_read_on_another_once_that_node_has_it_and_never_before",
    ],
}

# Answers that neither this run nor any test provokes yet, each printed so that none is
# passed over in silence. None today.
NOT_YET_PROVOKED: dict[tuple[str, str], str] = {}

# Schemathesis never tests the document it reads; scripts/fuzz.sh fetches it (curl -f) and
# every run loads it, so its 200 is seen whenever there are reports at all.
SEEN_BY_THE_SCRIPT = {("GET /api/openapi.json", "200"): "fetched by scripts/fuzz.sh"}


def documented(doc):
    pairs = set()
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            for status in operation.get("responses", {}):
                pairs.add((f"{method.upper()} {path}", status))
    return pairs


def observed(ndjson_files):
    """(operation, status) -> how many answers, from every recorded interaction."""
    seen = Counter()
    for name in ndjson_files:
        with open(name, encoding="utf-8") as events:
            for line in events:
                event = json.loads(line)
                finished = event.get("ScenarioFinished")
                if not finished:
                    continue
                recorder = finished["recorder"]
                for case_id, case in recorder.get("cases", {}).items():
                    interaction = recorder.get("interactions", {}).get(case_id) or {}
                    response = interaction.get("response")
                    if not response:
                        continue
                    value = case["value"]
                    seen[(f"{value['method'].upper()} {value['path']}", str(response["status_code"]))] += 1
    return seen


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as file:
        doc = json.load(file)
    wanted = documented(doc)
    seen = observed(sys.argv[2:])
    missing = []
    width = max(len(op) for op, _ in wanted)
    for op, status in sorted(wanted):
        count = seen.get((op, status), 0)
        if count:
            note = f"{count} seen"
        elif (op, status) in SEEN_BY_THE_SCRIPT:
            note = SEEN_BY_THE_SCRIPT[(op, status)]
        elif (op, status) in NOT_YET_PROVOKED:
            note = "NOT PROVOKED YET: " + NOT_YET_PROVOKED[(op, status)]
        elif (op, status) in COVERED_BY_RUST_TESTS:
            note = "by Rust tests: " + ", ".join(COVERED_BY_RUST_TESTS[(op, status)])
        else:
            note = "NEVER SEEN"
            missing.append((op, status))
        print(f"  {op:<{width}}  {status}  {note}")
    stale = sorted((set(COVERED_BY_RUST_TESTS) | set(NOT_YET_PROVOKED)) - wanted)
    for op, status in stale:
        print(f"fuzz-coverage: {op} {status} is listed here but not documented")
    if missing or stale:
        print(f"fuzz-coverage: {len(missing)} documented answers never seen", file=sys.stderr)
        sys.exit(1)
    print(f"fuzz-coverage: all {len(wanted)} documented answers seen")


if __name__ == "__main__":
    main()
