#!/usr/bin/env python3
"""Checks what promtool does not about deploy/prometheus/alerts.yml.

promtool checks the rules' syntax and runs their unit tests; this says the rules are written
the way docs/operations.md ("Alerts") and the tests rely on: every rule is an alert with a
`for:`, a `severity` of page or ticket, and a summary, a description and a runbook; the
runbook is the alert's own heading in docs/operations.md (`### Alert: <name>`); and
alerts.test.yml has for each alert at least one case where it fires and one where it stays
quiet. Exits 1 with one line per problem.
"""

import re
import sys
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
RULES = "deploy/prometheus/alerts.yml"
TESTS = "deploy/prometheus/alerts.test.yml"
RUNBOOKS = "docs/operations.md"
problems: list[str] = []


def load(path: str) -> dict:
    return YAML(typ="safe").load((ROOT / path).read_text(encoding="utf-8")) or {}


def anchor(heading: str) -> str:
    """The anchor a Markdown renderer gives a heading: lower case, punctuation dropped,
    spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


anchors = {anchor(h) for h in re.findall(r"^#+ (.+)$", (ROOT / RUNBOOKS).read_text(encoding="utf-8"), re.M)}

alerts: list[str] = []
for group in load(RULES).get("groups", []):
    for rule in group.get("rules", []):
        name = rule.get("alert")
        if not name:
            problems.append(f"{RULES}: group {group.get('name')}: {rule.get('record')} is not an alert")
            continue
        alerts.append(name)
        if "for" not in rule:
            problems.append(f"{RULES}: {name}: no `for:`")
        if (rule.get("labels") or {}).get("severity") not in ("page", "ticket"):
            problems.append(f"{RULES}: {name}: severity must be page or ticket")
        annotations = rule.get("annotations") or {}
        for key in ("summary", "description", "runbook"):
            if not annotations.get(key):
                problems.append(f"{RULES}: {name}: no {key} annotation")
        runbook = f"{RUNBOOKS}#{anchor('Alert: ' + name)}"
        if annotations.get("runbook") != runbook:
            problems.append(f"{RULES}: {name}: the runbook must be {runbook}")
        elif anchor("Alert: " + name) not in anchors:
            problems.append(f"{RUNBOOKS}: no heading `### Alert: {name}` for its runbook")
if len(set(alerts)) != len(alerts):
    problems.append(f"{RULES}: an alert name is used twice")

firing: set[str] = set()
quiet: set[str] = set()
for test in load(TESTS).get("tests", []):
    for case in test.get("alert_rule_test", []):
        (firing if case.get("exp_alerts") else quiet).add(case.get("alertname"))
for name in alerts:
    if name not in firing:
        problems.append(f"{TESTS}: no case where {name} fires")
    if name not in quiet:
        problems.append(f"{TESTS}: no case where {name} stays quiet (`exp_alerts: []`)")
for name in sorted((firing | quiet) - set(alerts)):
    problems.append(f"{TESTS}: tests {name}, which is no alert of {RULES}")

if problems:
    print("\n".join(f"check-alerts: {p}" for p in problems))
    sys.exit(1)
print(f"check-alerts: ok ({len(alerts)} alerts, each with a runbook and tests that fire and quiet it)")
