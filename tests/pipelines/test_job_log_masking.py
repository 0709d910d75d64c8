"""Local job logs never show a secret: a real gitlab-ci-local run whose job prints its
environment and the secrets in several forms; every trace chunk (read in small pieces, as the
panel reads, while the job runs and after), the REST route's answers and every file under the
pipelines store hold ``[MASKED]`` instead. As GitLab's runner: values shorter than 8 characters
are not masked (doc/ci/variables/_index.md, "Mask a CI/CD variable": "The value must be a single
line with at least 8 characters")."""

from __future__ import annotations

import asyncio
import io
import json
import time
import urllib.parse

import pytest

from hybridhub.lab_ext.pipelines import local_backend
from hybridhub.lab_ext.pipelines.local_backend import LocalBackend
from hybridhub.lab_ext.pipelines.masking import MASK, LiveReader, Masker

from .conftest import commit_all, finished, jobs_of, wait_for
from .test_handlers import call, server  # noqa: F401 - the server fixture that closes the pipeline service

pytestmark = pytest.mark.pipelines

SECRET = "wJalrXUt/nFEMI+K7MDENG/bPxRfiCYEXAMPLEKEY"  # '/' and '+': its URL-encoded forms differ
PASSWORD = "hunter2 pass/word+x"  # a space: quote_plus makes '+' of it
SHORT = "abc1234"  # 7 characters: GitLab does not mask it
QUOTED = [urllib.parse.quote(SECRET, safe=""), urllib.parse.quote(PASSWORD, safe=""), urllib.parse.quote_plus(PASSWORD, safe="")]

#: prints the environment, the secrets on long lines (a chunk boundary falls inside them), URL-
#: encoded, and half a line that waits before its end (a live read must not cut it there)
CI = """stages: [work]
leaky:
  stage: work
  script:
    - env | sort
    - echo "s3://bucket/key?secret=$AWS_SECRET_ACCESS_KEY&x=1 $(printf 'y%.0s' $(seq 1 40)) $MLFLOW_TRACKING_PASSWORD"
    - '"$HYBRIDHUB_PYTHON" -c "import os, urllib.parse as u; [print(f(os.environ.get(k, \\"\\"), safe=\\"\\")) for k in (\\"AWS_SECRET_ACCESS_KEY\\", \\"MLFLOW_TRACKING_PASSWORD\\") for f in (u.quote, u.quote_plus)]"'
    - printf 'half a line %s' "$AWS_SECRET_ACCESS_KEY"; sleep 2; echo ' and its end'
    - echo "token=$MLFLOW_TRACKING_TOKEN done"
warned:
  stage: work
  allow_failure: true
  script:
    - echo "last words $AWS_SECRET_ACCESS_KEY"; exit 3
"""
ENV = {"AWS_SECRET_ACCESS_KEY": SECRET, "MLFLOW_TRACKING_PASSWORD": PASSWORD, "MLFLOW_TRACKING_TOKEN": SHORT}


def leaks(text: str) -> list[str]:
    return [s for s in [SECRET, PASSWORD, *QUOTED] if s in text]


def store_files(workspace) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in (workspace / ".hybridhub").rglob("*") if p.is_file() and not p.is_symlink()}


async def read_all(read, done) -> tuple[str, list[str]]:
    """The panel's loop (lab_ext/src/pipelines/run.ts): ask from the last next_offset until complete."""
    offset, chunks, deadline = 0, [], time.monotonic() + 60
    while True:
        trace = await read(offset)
        assert trace["offset"] == offset
        chunks.append(trace["content"])
        offset = trace["next_offset"]
        if trace["complete"] and await done():
            return "".join(chunks), chunks
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)


async def test_job_log_chunks_and_kept_files_mask_the_secrets(workspace, monkeypatch, tools_present):
    monkeypatch.setattr(local_backend, "MAX_TRACE_CHUNK", 16)  # smaller than a secret: many boundaries
    (workspace / ".gitlab-ci.yml").write_text(CI)
    commit_all(workspace, "a job that prints its secrets")
    backend = LocalBackend(workspace, timeout=60, env=ENV)
    try:
        created = await backend.create(".", "main", [], None)

        async def done():
            return finished(await backend.pipeline(".", created["id"]))

        log, chunks = await read_all(lambda offset: backend.trace(".", created["id"], 1, offset), done)
        view = await wait_for(backend, ".", created["id"], finished)
    finally:
        await backend.close()
    # gitlab-ci-local's summary reads the live log of a failed job: it is there (masked), the run passes
    assert jobs_of(view) == {"leaky": "success", "warned": "failed"} and view["status"] == "success", (view, log)
    assert len(chunks) > 10 and not [c for c in chunks if leaks(c)]
    assert leaks(log) == [], log
    # names still there, values masked; the half line came whole; the short value is shown
    assert "AWS_SECRET_ACCESS_KEY=[MASKED]" in log and "MLFLOW_TRACKING_PASSWORD=[MASKED]" in log
    assert "secret=[MASKED]&x=1" in log and log.count("[MASKED]") >= 9
    assert "half a line [MASKED] and its end" in log
    assert f"MLFLOW_TRACKING_TOKEN={SHORT}" in log and f"token={SHORT} done" in log
    # the live chunks and the kept log agree: offsets given out while running stay valid after
    run = workspace / ".hybridhub/pipelines" / str(created["id"])
    assert (run / "logs" / "1.log").read_text() == log
    assert (run / "src/.gitlab-ci-local/output/leaky.log").read_text() == log  # the live log is masked
    assert "last words [MASKED]" in (run / "logs" / "2.log").read_text()
    files = store_files(workspace)
    assert files and not [path for path, data in files.items() if leaks(data.decode("utf-8", "replace"))]
    # a read from the middle of the kept log (the panel after the job ended) is masked too
    monkeypatch.setattr(local_backend, "MAX_TRACE_CHUNK", 512 * 1024)
    again = await LocalBackend(workspace, env=ENV).trace(".", created["id"], 1, len(log) // 2)
    assert again["complete"] and log.endswith(again["content"]) and not leaks(again["content"])


def test_live_reader_gives_whole_lines_and_masked_offsets(tmp_path):
    """A log still written: no chunk ends inside a line, so never inside a secret; an offset
    given out is found again after the reader forgot it (a restarted server)."""
    masker = Masker([SECRET, SHORT])
    live = tmp_path / "job.log"
    live.write_bytes(f"a {SECRET} b\nhalf {SECRET[:10]}".encode())
    reader = LiveReader()
    content, offset, at_end = reader.read(("p", 1), live, masker, 0, 4, final=False)
    assert content == b"a [MASKED] b\n" and offset == len(content) and not at_end
    assert reader.read(("p", 1), live, masker, offset, 4, final=False) == (b"", offset, False)
    with live.open("ab") as handle:
        handle.write(f"{SECRET[10:]} end\n".encode())
    content, end, at_end = LiveReader().read(("p", 1), live, masker, offset, 4, final=True)  # found by scanning
    assert content == b"half [MASKED] end\n" and at_end and end == offset + len(content)
    kept = io.BytesIO()
    masker.copy(io.BytesIO(live.read_bytes()), kept)
    assert kept.getvalue() == b"a [MASKED] b\nhalf [MASKED] end\n"
    assert Masker([SHORT]).mask(SHORT.encode()) == SHORT.encode() and MASK == b"[MASKED]"
    assert Masker.from_env({"AWS_REGION": "eu-west-1-long", "AWS_SESSION_TOKEN": "FwoGZXIvYXdzEJr"}).mask(
        b"eu-west-1-long FwoGZXIvYXdzEJr"
    ) == b"eu-west-1-long [MASKED]"


@pytest.fixture
def jp_root_dir(workspace):
    return workspace


@pytest.fixture
def jp_server_config(monkeypatch):
    """No GitLab, no object store; a registry with logins: the jobs get MLFLOW_TRACKING_PASSWORD
    (pipelines/service.py model_job_env)."""
    for name in ("HYBRIDHUB_GITLAB_URL", "HYBRIDHUB_GITLAB_TOKEN", "HYBRIDHUB_S3_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HYBRIDHUB_MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    monkeypatch.setenv("HYBRIDHUB_MLFLOW_TRACKING_USERNAME", "alice")
    monkeypatch.setenv("HYBRIDHUB_MLFLOW_TRACKING_PASSWORD", PASSWORD)
    return {"ServerApp": {"jpserver_extensions": {"hybridhub.lab_ext": True}}}


async def test_the_trace_route_never_answers_a_secret(server, workspace, monkeypatch, tools_present):
    monkeypatch.setattr(local_backend, "MAX_TRACE_CHUNK", 16)
    (workspace / ".gitlab-ci.yml").write_text(CI)
    commit_all(workspace, "a job that prints its secrets")
    created = await call(server, "runs", body={"project": ".", "ref": "main", "variables": [], "request_id": "mask-0001"})
    run = str(created["id"])

    async def done():
        return finished(await call(server, "runs", run, project="."))

    async def read(offset):
        return await call(server, "runs", run, "jobs", "1", "trace", project=".", offset=str(offset))

    log, chunks = await read_all(read, done)
    assert "MLFLOW_TRACKING_PASSWORD=[MASKED]" in log and "MLFLOW_TRACKING_USERNAME=alice" in log
    assert not [c for c in chunks if PASSWORD in c or urllib.parse.quote(PASSWORD, safe="") in c]
    view = await call(server, "runs", run, project=".")
    files = store_files(workspace)
    assert PASSWORD not in json.dumps(view) and not [p for p, d in files.items() if PASSWORD.encode() in d]
