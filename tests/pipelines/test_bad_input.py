"""Bad input on the pipeline routes: ids and offsets are bounded whole numbers, so a 5,000-digit id
or a huge offset is a 400 ``invalid_request``, never a 5xx (issue 17, "Bad input")."""

from __future__ import annotations

import json

import pytest

from hybridhub.lab_ext.pipelines.errors import PipelineError
from hybridhub.lab_ext.pipelines.handlers import MAX_NUMBER, bounded_int, job_ref

from tests.gitlab.test_bad_input import fetch_json

from .test_handlers import server  # noqa: F401 - the server fixture that closes the pipeline service

pytestmark = pytest.mark.pipelines


@pytest.mark.parametrize("text", ["9" * 5000, "9" * 17, str(MAX_NUMBER + 1), "-1", "", "1.5", "1e3", "٣", " 1", "0x10"])
def test_numbers_outside_the_bounds_are_refused(text):
    with pytest.raises(PipelineError) as info:
        bounded_int(text, "offset")
    assert (info.value.status, info.value.reason) == (400, "invalid_request")
    assert str(MAX_NUMBER) in info.value.details


def test_numbers_inside_the_bounds_pass():
    assert bounded_int("0", "offset") == 0 and bounded_int(str(MAX_NUMBER), "offset") == MAX_NUMBER
    assert job_ref("build-1") == "build-1"
    with pytest.raises(PipelineError):
        job_ref("j" * 256)


@pytest.fixture
def jp_root_dir(workspace):
    return workspace


@pytest.fixture
def jp_server_config(monkeypatch):
    for name in ("HYBRIDHUB_GITLAB_URL", "HYBRIDHUB_GITLAB_TOKEN", "HYBRIDHUB_S3_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    return {"ServerApp": {"jpserver_extensions": {"hybridhub.lab_ext": True}}}


async def answer(fetch, *parts, body=None, **params) -> tuple[int, dict]:
    kwargs = {"params": params} if body is None else {"method": "POST", "body": body}
    return await fetch_json(fetch, "pipelines", *parts, **kwargs)


async def test_huge_ids_and_offsets_are_400(server):
    huge = "9" * 5000
    cases = [
        (("runs", huge), None, {"project": "."}),
        (("runs", huge, "cancel"), json.dumps({"project": "."}), {}),
        (("runs", huge, "jobs", "1", "retry"), json.dumps({"project": "."}), {}),
        (("runs", huge, "jobs", "1", "trace"), None, {"project": "."}),
        (("runs", "1", "jobs", "1", "trace"), None, {"project": ".", "offset": "9" * 40}),
        (("runs", "1", "jobs", "1", "trace"), None, {"project": ".", "offset": "-5"}),
        (("runs", "1", "jobs", "j" * 300, "trace"), None, {"project": "."}),
        (("runs",), None, {"project": ".", "limit": "9" * 5000}),
        (("runs",), None, {"project": "p" * 3000}),
        (("refs",), None, {"project": "p" * 1000}),
        (("variables",), None, {"project": "p/" * 2500}),
        (("variables",), None, {"project": ".", "ref": "r" * 1025}),
        (("runs",), json.dumps({"project": ".", "ref": "a\0b"}), {}),
    ]
    for parts, body, params in cases:
        code, data = await answer(server, *parts, body=body, **params)
        assert (code, data["reason"]) == (400, "invalid_request"), (parts[:2], params.keys(), data)


async def test_a_bounded_id_that_does_not_exist_is_404(server):
    code, data = await answer(server, "runs", str(MAX_NUMBER), project=".")
    assert (code, data["reason"]) == (404, "unknown_pipeline")
    code, data = await answer(server, "runs", "1", "jobs", "1", "trace", project=".", offset=str(MAX_NUMBER))
    assert code == 404 and data["reason"] == "unknown_pipeline"


async def test_a_malformed_pins_file_is_a_clear_409_not_a_500(server, workspace):
    (workspace / ".hybridhub").mkdir(exist_ok=True)
    (workspace / ".hybridhub" / "data-pins.json").write_text('{"pins": [{"uri": ["s3://b/k"]}]}')
    for parts, params in [(("config",), {}), (("variables",), {"project": ".", "ref": "main"})]:
        code, data = await answer(server, *parts, **params)
        assert (code, data["reason"]) == (409, "invalid_pins_file"), (parts, data)
