"""Bad input on the git routes: every refusal is a 4xx JSON answer with a reason code, never a 5xx,
and no answer names the server's absolute path (issue 17, "Bad input")."""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError

from hybridhub.lab_ext.git import limits
from hybridhub.lab_ext.git.errors import REASONS, GitError
from hybridhub.lab_ext.git.repo import GitService
from hybridhub.lab_ext.git.settings import GitSettings

pytestmark = pytest.mark.gitlab


@pytest.fixture
def demo(local_workspace) -> GitService:
    return GitService(local_workspace.parent, GitSettings())


async def refused(call, *args) -> GitError:
    with pytest.raises(GitError) as info:
        await call(*args)
    assert 400 <= info.value.status < 500, info.value.to_json()
    return info.value


# ---- the core, called directly -------------------------------------------------------------


async def test_a_folder_that_does_not_exist_is_404(demo):
    for call, args in [
        (demo.status, ("nowhere/deeper",)),
        (demo.branches, ("nowhere/deeper",)),
        (demo.push, ("demo/nowhere/deeper",)),
        (demo.stage, ("nowhere/x", ["a"])),
    ]:
        error = await refused(call, *args)
        assert (error.status, error.reason) == (404, "no_such_folder")
    # a name that does not exist in an existing folder may be a deleted file: its folder answers
    assert (await refused(demo.status, "nowhere")).reason == "not_a_repository"
    assert (await demo.status("demo/deleted.ipynb"))["repository"] == "demo"


async def test_long_paths_and_control_characters_are_400(demo):
    for path in ["a" * 100_000, "demo/" + "b" * 256, "demo/x\0y", "demo/x\ny"]:
        for call in (demo.status, demo.branches, demo.pull):
            error = await refused(call, path)
            assert (error.status, error.reason) == (400, "invalid_path")
    for files in [["a" * 100_000], ["ok", "x\0y"]]:
        error = await refused(demo.stage, "demo", files)
        assert (error.status, error.reason) == (400, "invalid_path")


async def test_too_many_files_is_400_with_the_limit(demo):
    error = await refused(demo.stage, "demo", [f"f{i}" for i in range(20_000)])
    assert error.reason == "invalid_request" and "5000" in error.message
    error = await refused(demo.unstage, "demo", [f"f{i}" for i in range(limits.MAX_FILES + 1)])
    assert error.reason == "invalid_request"


async def test_a_file_git_does_not_know_is_400_and_names_no_absolute_path(demo, local_workspace):
    error = await refused(demo.stage, "demo", ["missing.ipynb"])
    assert (error.status, error.reason) == (400, "unknown_file")
    assert "missing.ipynb" in error.details
    assert str(local_workspace.parent) not in json.dumps(error.to_json())


async def test_commit_message_limits(demo, local_workspace):
    (local_workspace / "n.ipynb").write_text("{}\n")
    await demo.stage("demo", ["n.ipynb"])
    for message in ["a\0b", "x" * (64 * 1024 + 1)]:
        error = await refused(demo.commit, "demo", message)
        assert error.reason == "invalid_request"
    assert (await demo.commit("demo", "x" * (64 * 1024)))["summary"]


@pytest.mark.parametrize(
    "name",
    ["@", "HEAD", "refs/heads/x", "-x", "a b", "a..b", "a\0b", "a\nb", "x" * 300, "a/" + "y" * 251, "x.lock",
     "a/.hidden", "end.", "end/", "a@{1}", "@{-1}", "a~1", "a:b", "a*", "a\\b"],
)  # fmt: skip
async def test_branch_names_git_or_gitlab_refuse_are_400(demo, name):
    for call in (demo.create_branch, demo.switch_branch):
        error = await refused(call, "demo", name)
        assert (error.status, error.reason) == (400, "invalid_branch_name")


async def test_long_valid_branch_names_still_work(demo):
    name = "team/" + "x" * 250
    assert limits.check_branch(name) == name
    branches = await demo.create_branch("demo", name)
    assert branches["current"] == name


async def test_git_messages_never_hold_the_server_root(demo, local_workspace):
    text = f"fatal: cannot lock ref in {local_workspace.parent}/demo/.git/refs/heads/x: File name too long"
    scrubbed = demo.scrub(text)
    assert str(local_workspace.parent) not in scrubbed and "demo/.git/refs/heads/x" in scrubbed


def test_every_new_code_is_a_client_error():
    for code in ("no_such_folder", "unknown_file", "invalid_path", "invalid_branch_name", "invalid_request"):
        assert 400 <= REASONS[code][0] < 500


# ---- through the server ----------------------------------------------------------------------


@pytest.fixture
def jp_root_dir(local_workspace):
    return local_workspace.parent


@pytest.fixture
def jp_server_config(monkeypatch):
    for name in ("HYBRIDHUB_GITLAB_URL", "HYBRIDHUB_GITLAB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return {"ServerApp": {"jpserver_extensions": {"hybridhub.lab_ext": True}}}


async def fetch_json(fetch, *parts: str, **kwargs) -> tuple[int, dict]:
    """Status and JSON body of ``fetch("hybridhub", *parts, **kwargs)``, errors included (never a traceback)."""
    try:
        response = await fetch("hybridhub", *parts, **kwargs)
    except HTTPClientError as e:
        text = e.response.body.decode()
        assert "Traceback" not in text
        return e.code, json.loads(text)
    return response.code, json.loads(response.body)


async def answer(jp_fetch, route: str, body=None, raw: bytes | None = None, **params) -> tuple[int, dict]:
    kwargs = {"params": params} if body is None and raw is None else {"method": "POST", "body": raw if raw is not None else json.dumps(body)}
    return await fetch_json(jp_fetch, "git", route, **kwargs)


async def test_routes_answer_4xx_json_for_bad_input(jp_fetch, local_workspace):
    root = str(local_workspace.parent)
    cases = [
        ("status", None, {"path": "nowhere/x"}, 404, "no_such_folder"),
        ("branches", None, {"path": "a" * 10_000}, 400, "invalid_path"),
        ("pull", {"path": "a" * 100_000}, {}, 400, "invalid_path"),
        ("stage", {"path": "nowhere/x", "files": ["a"]}, {}, 404, "no_such_folder"),
        ("stage", {"path": "demo", "files": ["missing"]}, {}, 400, "unknown_file"),
        ("stage", {"path": "demo", "files": [f"f{i}" for i in range(20_000)]}, {}, 400, "invalid_request"),
        ("commit", {"path": "demo", "message": "a\0b"}, {}, 400, "invalid_request"),
        ("commit", {"path": "nowhere/x", "message": "m"}, {}, 404, "no_such_folder"),
        ("branches", {"path": "demo", "name": "x" * 300}, {}, 400, "invalid_branch_name"),
        ("branches", {"path": "demo", "name": "@"}, {}, 400, "invalid_branch_name"),
        ("branches", {"path": "demo", "name": "refs/heads/x"}, {}, 400, "invalid_branch_name"),
        ("branches", {"path": "demo", "name": "a\0b", "create": False}, {}, 400, "invalid_branch_name"),
        ("push", {"path": "nowhere/x"}, {}, 404, "no_such_folder"),
        ("pull", {"path": "x" * 5000}, {}, 400, "invalid_path"),
    ]
    for route, body, params, status, reason in cases:
        code, data = await answer(jp_fetch, route, body, **params)
        assert (code, data["reason"]) == (status, reason), (route, body and str(body)[:80], data)
        assert data["message"] and root not in json.dumps(data)


@pytest.mark.parametrize("route", ["stage", "commit", "push", "pull", "branches", "merge-request", "clone"])
async def test_json_bodies_that_are_too_deep_or_not_objects_are_400(jp_fetch, route):
    for raw in [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 65 + b"1" + b"}" * 65, b"[]", b'"text"', b"NaN",
                b'{"path": NaN}', b"\xff", b"{", b"1" * 5000]:  # fmt: skip
        code, data = await answer(jp_fetch, route, raw=raw)
        assert (code, data["reason"]) == (400, "invalid_request"), (route, raw[:20], data)


async def test_control_characters_in_query_parameters_are_refused(jp_fetch):
    for params in [{"path": "demo\x01"}, {"path\x00": "demo"}, {"path": "demo\x7f"}]:
        code, data = await answer(jp_fetch, "status", **params)
        assert (code, data["reason"]) == (400, "invalid_request"), params
    code, data = await answer(jp_fetch, "status", path="demo")
    assert code == 200 and data["repository"] == "demo"


async def test_a_query_parameter_that_is_not_utf8_is_invalid_request(jp_fetch):
    for params in ({"path": b"\xff"}, {"path": "demo", "other": b"\xc3"}):
        code, data = await fetch_json(jp_fetch, "git", "status", params=params)
        assert (code, data.get("reason")) == (400, "invalid_request") and data["message"], (params, data)


async def test_a_git_failure_naming_the_server_root_answers_without_it(jp_fetch, local_workspace):
    (local_workspace / ".git" / "refs" / "heads" / "locked.lock").write_text("")  # git left a lock behind
    code, data = await answer(jp_fetch, "branches", {"path": "demo", "name": "locked"})
    assert (code, data["reason"]) == (409, "busy")
    assert "refs/heads/locked.lock" in data["details"] and str(local_workspace.parent) not in json.dumps(data)


async def test_git_that_cannot_start_is_a_4xx_reason(tmp_path):
    from hybridhub.lab_ext.git import runner

    for args, cwd, reason in [
        (["status"], tmp_path / "gone", "no_such_folder"),
        (["log", "a\0b"], tmp_path, "invalid_request"),
        (["add", "--", *["n" * 4000] * 600], tmp_path, "invalid_request"),  # 2.4 MB of arguments: E2BIG
    ]:
        with pytest.raises(GitError) as info:
            await runner.run_git(args, cwd, 10)
        assert (info.value.reason, info.value.status < 500) == (reason, True), args[:1]


def test_the_one_json_body_parser_directly():
    from hybridhub.lab_ext.base_handler import MAX_BODY_BYTES, MAX_JSON_DEPTH, parse_json_object

    assert parse_json_object(b"") == {} and parse_json_object(b'{"a": [1, {"b": "\\ud83d\\ude00"}]}') == {"a": [1, {"b": "😀"}]}
    assert parse_json_object(b'{"a":' * (MAX_JSON_DEPTH - 1) + b"[]" + b"}" * (MAX_JSON_DEPTH - 1))
    for raw in [b'{"a":' * MAX_JSON_DEPTH + b"[]" + b"}" * MAX_JSON_DEPTH, b"[" * 200_000, b"[]", b"5", b"null",
                b'{"a": Infinity}', b'{"a": "\\udc00"}', b"\xff", b" " * (MAX_BODY_BYTES + 1)]:  # fmt: skip
        with pytest.raises(ValueError):
            parse_json_object(raw)
    with pytest.raises(ValueError, match="must be a JSON object"):
        parse_json_object(b"null")
    with pytest.raises(ValueError, match="64 levels"):
        parse_json_object(b"[" * 100_000 + b"]" * 100_000)
