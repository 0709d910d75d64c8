"""Pipeline variable names and request ids are checked whole: Python's ``$`` also matches just
before a final newline, so a name like ``"A\n"`` passed the old check and reached GitLab."""

import pytest

from hybridhub.lab_ext.pipelines.backend import validate_request_id, validate_variables
from hybridhub.lab_ext.pipelines.errors import PipelineError

pytestmark = pytest.mark.pipelines


@pytest.mark.parametrize("key", ["A\n", "EPOCHS\n", "A B", "1A", ""])
def test_bad_variable_names_are_refused(key):
    with pytest.raises(PipelineError) as info:
        validate_variables([{"key": key, "value": "1"}])
    assert info.value.reason == "invalid_variables"


def test_good_variable_names_pass():
    assert validate_variables([{"key": "EPOCHS", "value": 3}]) == [{"key": "EPOCHS", "value": "3"}]


@pytest.mark.parametrize("value", ["abcdefgh\n", "short", "x" * 65])
def test_bad_request_ids_are_refused(value):
    with pytest.raises(PipelineError) as info:
        validate_request_id(value)
    assert info.value.reason == "invalid_request"


def test_hand_edited_pins_without_an_object_are_ignored():
    from hybridhub.lab_ext.pipelines.service import apply_pins

    variables = [{"key": "DATA_URI", "value": "s3://d/a.csv"}, {"key": "DATA_VERSION", "value": ""}]
    pins = [{"version_id": "v1"}, "junk", {"uri": 3}, {"uri": "s3://d/b.csv", "version_id": "v2", "pinned_at": "2026"}]
    out = {v["key"]: v["value"] for v in apply_pins(variables, pins)}
    assert out == {"DATA_URI": "s3://d/b.csv", "DATA_VERSION": "v2"}
