"""Reason codes have one catalog (lab_ext/hybridhub/lab_ext/reason_catalog.py): the server's
error classes use its tables, the frontend's reasons.ts is generated from it, and every code the
server extension raises is in it."""

import re
from pathlib import Path

import pytest

from hybridhub.lab_ext import reason_catalog
from hybridhub.lab_ext.activity.errors import ActivityError
from hybridhub.lab_ext.git.errors import GitError
from hybridhub.lab_ext.pipelines.errors import PipelineError
from hybridhub.lab_ext.reasons import RequestError
from hybridhub.lab_ext.storage.errors import StorageError
from hybridhub.lab_ext.workspace import WorkspaceError

pytestmark = pytest.mark.api

REPO = Path(__file__).resolve().parents[2]
SERVER = REPO / "lab_ext" / "hybridhub" / "lab_ext"


def test_the_frontend_module_is_generated_from_the_catalog():
    generated = (REPO / "lab_ext" / "src" / "reasons.ts").read_text(encoding="utf-8")
    assert generated == reason_catalog.typescript(), (
        "lab_ext/src/reasons.ts is out of date: python -m hybridhub.lab_ext.reason_catalog > lab_ext/src/reasons.ts"
    )


@pytest.mark.parametrize(
    "error_class, area",
    [(RequestError, "common"), (WorkspaceError, "workspace"), (StorageError, "storage"), (GitError, "git"),
     (PipelineError, "pipelines"), (ActivityError, "activity")],
)
def test_every_error_class_answers_from_its_area_of_the_catalog(error_class, area):
    assert error_class.REASONS is reason_catalog.CATALOG[area]


def test_a_code_answered_in_several_areas_means_the_same_status():
    statuses: dict[str, set[int]] = {}
    for table in reason_catalog.CATALOG.values():
        for code, (status, text) in table.items():
            statuses.setdefault(code, set()).add(status)
            assert text.strip() and text[-1] in ".)", (code, text)  # a sentence, as the panels show it
    assert {code: s for code, s in statuses.items() if len(s) > 1} == {}


# ``SomethingError("code"`` / ``error("code"`` / ``reason="code"`` in the server extension's code
RAISED = re.compile(r"""(?:\b(?!Assertion)[A-Z]\w*Error|\berror|\bCancelled)\(\s*["']([a-z_]+)["']|\breason\s*=\s*["']([a-z_]+)["']""")


def test_every_code_the_server_extension_raises_is_in_the_catalog():
    known = set().union(*reason_catalog.CATALOG.values())
    raised = {}
    for path in SERVER.rglob("*.py"):
        if "templates" in path.parts:  # the example project's own code, not the extension's
            continue
        for match in RAISED.finditer(path.read_text(encoding="utf-8")):
            raised.setdefault(match.group(1) or match.group(2), path.relative_to(REPO))
    assert len(raised) > 30  # the pattern finds the raises (guards the test itself)
    assert {code: str(path) for code, path in raised.items() if code not in known} == {}
