"""StorageError on the shared ReasonError: stable codes, statuses, safe JSON."""

import pytest

from hybridhub.lab_ext.git.errors import GitError
from hybridhub.lab_ext.storage.errors import REASONS, Cancelled, StorageError

pytestmark = pytest.mark.storage


def test_codes_carry_their_status_and_a_default_message():
    error = StorageError("no_such_key")
    assert (error.status, error.message) == (404, REASONS["no_such_key"][1])
    assert error.to_json() == {"message": "The object does not exist.", "reason": "no_such_key"}


def test_a_message_and_status_may_be_specific():
    error = StorageError("invalid_request", "Uploads need a Content-Length header.", status=411)
    assert (error.status, str(error)) == (411, "Uploads need a Content-Length header.")
    assert Cancelled().to_json()["reason"] == "cancelled"


def test_unknown_codes_and_other_areas_codes_are_refused():
    with pytest.raises(ValueError, match="StorageError reason code 'nope'"):
        StorageError("nope")
    with pytest.raises(ValueError):
        StorageError("merge_conflict")  # a git code
    assert GitError("merge_conflict").status == 409
