"""Deployed stacks keep their URNs: every URN of the dev stack and of the examples is recorded.

Type tokens and child names are public API (docs/maintainers.md): a URN that moves makes the next
`pulumi up` of every user replace the resource (a new role ARN, new credentials, a GCP pool ID
blocked for 30 days). This test fails when one moves. A deliberate addition is recorded with
``UPDATE_URN_SNAPSHOTS=1 pytest tests/test_urns.py``; a removal or a rename never is.
"""

from __future__ import annotations

import json
import os

import pytest
from conftest import ROOT

from fedctl.preview.engine import run_program
from fedctl.preview.project import load_project

SNAPSHOTS = ROOT / "tests" / "snapshots"
PROJECTS = {
    "dev": (ROOT, "dev"),
    "fleet": (ROOT / "examples" / "fleet", "platform"),
    "organization": (ROOT / "examples" / "organization", "org"),
    "python-example": (ROOT / "examples" / "python", "dev"),
}


def urns_of(directory, stack) -> list[str]:
    run = run_program(load_project(directory, stack))
    return sorted(run.monitor.registrations)


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_no_urn_of_a_deployed_stack_moves(name):
    snapshot = SNAPSHOTS / f"urns-{name}.json"
    current = urns_of(*PROJECTS[name])
    if os.environ.get("UPDATE_URN_SNAPSHOTS") == "1":
        recorded = json.loads(snapshot.read_text()) if snapshot.exists() else []
        assert not set(recorded) - set(current), "a recorded URN disappeared: that is never a snapshot update"
        snapshot.write_text(json.dumps(current, indent=1) + "\n")
    assert snapshot.exists(), f"{snapshot.name} is missing: record it with UPDATE_URN_SNAPSHOTS=1"
    recorded = json.loads(snapshot.read_text())
    moved = sorted(set(recorded) - set(current))
    assert not moved, f"{len(moved)} URNs of deployed stacks moved or vanished, e.g. {moved[:3]}"
    added = sorted(set(current) - set(recorded))
    assert not added, f"new URNs {added[:3]}: record them with UPDATE_URN_SNAPSHOTS=1 if they are intended"
