"""A workspace holding symbolic links (a cloned repository may bring them) never makes the
pipeline panel write outside the workspace: the template writer and the local pipeline store
refuse a link in any folder on the way with a clear reason; the template on a file is a 409."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from hybridhub.lab_ext.pipelines.errors import PipelineError
from hybridhub.lab_ext.pipelines.local_backend import LocalBackend
from hybridhub.lab_ext.pipelines.local_store import PipelineStore
from hybridhub.lab_ext.pipelines.template import add_template, existing, template_files

from .test_bad_input import jp_server_config  # noqa: F401 - no GitLab, no object store
from .test_handlers import server  # noqa: F401 - the server fixture that closes the pipeline service

pytestmark = pytest.mark.pipelines


@pytest.fixture
def root(tmp_path):
    return Path(tempfile.mkdtemp(prefix="workspace-", dir=tmp_path))


@pytest.fixture
def outside(tmp_path):
    o = tmp_path / "elsewhere"
    (o / "ml").mkdir(parents=True)
    (o / "ml" / "train.py").write_text("# not yours to overwrite\n")
    return o


def files_in(folder):
    return sorted((str(p.relative_to(folder)), p.read_bytes()) for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("overwrite", [False, True])
def test_template_into_a_symlinked_folder_writes_nothing_outside(root, outside, overwrite):
    (root / "pipelines").symlink_to(outside, target_is_directory=True)
    before = files_in(outside)
    with pytest.raises(PipelineError) as info:
        add_template(root, "pipelines", overwrite=overwrite)
    assert (info.value.reason, info.value.status) == ("invalid_path", 400)
    assert "symbolic link" in info.value.message
    assert files_in(outside) == before
    with pytest.raises(PipelineError):
        existing(root, "pipelines")


def test_template_whose_subfolder_is_a_symlink_writes_nothing_at_all(root, outside):
    """``ml/`` of the template is a link out: refused before the first file is written."""
    (root / "ml").symlink_to(outside / "ml", target_is_directory=True)
    before = files_in(outside)
    with pytest.raises(PipelineError) as info:
        add_template(root, "", overwrite=True)
    assert info.value.reason == "invalid_path"
    assert files_in(outside) == before
    assert sorted(p.name for p in root.iterdir()) == ["ml"]  # not a single template file


def test_a_symlink_in_the_middle_of_the_path_is_refused(root, outside):
    before = files_in(outside)
    (root / "proj" / "ci-real").mkdir(parents=True)
    (root / "proj" / "ci").symlink_to(outside, target_is_directory=True)  # proj/ci/build.sh -> outside
    with pytest.raises(PipelineError) as info:
        add_template(root, "proj", overwrite=True)
    assert info.value.reason == "invalid_path"
    assert files_in(outside) == before
    assert sorted(p.name for p in (root / "proj").iterdir()) == ["ci", "ci-real"]
    (root / "projects").mkdir()
    (root / "projects" / "team").symlink_to(outside, target_is_directory=True)
    for folder in ("projects/team", "projects/team/sub", "projects/team/ml"):
        with pytest.raises(PipelineError) as info:
            add_template(root, folder)
        assert info.value.reason == "invalid_path"
    assert files_in(outside) == before
    assert add_template(root, "projects/real")["path"] == "projects/real"  # a real folder is fine
    assert sorted(files_in(root / "projects" / "real"))[0][0] in template_files()


def test_template_on_an_existing_file_is_a_clear_409(root):
    (root / "notes.txt").write_text("mine\n")
    (root / "proj").mkdir()
    (root / "proj" / "ml").write_text("a file named like the template's folder\n")
    for folder in ("notes.txt", "notes.txt/sub", "proj"):
        for call in (lambda: existing(root, folder), lambda: add_template(root, folder, overwrite=True)):
            with pytest.raises(PipelineError) as info:
                call()
            assert (info.value.reason, info.value.status) == ("file_exists", 409)
            assert "Choose another folder" in info.value.message
    assert (root / "notes.txt").read_text() == "mine\n"
    assert sorted(p.name for p in (root / "proj").iterdir()) == ["ml"]


@pytest.mark.parametrize("linked", [".hybridhub", ".hybridhub/pipelines"])
def test_the_local_store_refuses_a_symlinked_store_folder(root, outside, linked):
    (root / ".hybridhub").mkdir()
    if linked == ".hybridhub":
        (root / ".hybridhub").rmdir()
    (root / linked).symlink_to(outside, target_is_directory=True)
    (outside / "7").mkdir()
    (outside / "7" / "pipeline.json").write_text(json.dumps({"id": 7, "project": "."}))
    before = files_in(outside)
    store = PipelineStore(root)
    for action in (
        store.ensure,
        store.next_id,
        lambda: store.save({"id": 3, "project": ".", "status": "pending"}),
        store.ids,
        lambda: store.prune(set()),
    ):
        with pytest.raises(PipelineError) as info:
            action()
        assert (info.value.reason, info.value.status) == ("invalid_path", 400)
    with pytest.raises(PipelineError) as info:
        store.load(7)  # a record outside is not read either
    assert info.value.reason == "unknown_pipeline"
    assert files_in(outside) == before


def test_a_run_whose_logs_folder_is_a_link_keeps_no_log_outside(root, outside):
    backend = LocalBackend(root)
    store = backend.store
    run = store.next_id()
    store.save({"id": run, "project": "."})
    live = store.run_dir(run) / "src" / ".gitlab-ci-local" / "output" / "train.log"
    live.parent.mkdir(parents=True)
    live.write_text("job output\n")
    (store.run_dir(run) / "logs").symlink_to(outside, target_is_directory=True)
    before = files_in(outside)
    with pytest.raises(PipelineError) as info:
        backend._keep_log(run, {"id": 1, "name": "train"})
    assert info.value.reason == "invalid_path"
    assert files_in(outside) == before
    os.unlink(store.run_dir(run) / "logs")
    backend._keep_log(run, {"id": 1, "name": "train"})
    assert (store.run_dir(run) / "logs" / "1.log").read_text() == "job output\n"
    assert store.load(run)["id"] == run and store.ids() == [run]
    assert (root / ".hybridhub" / "pipelines" / ".gitignore").read_text() == "*\n"


def test_prune_removes_old_runs_inside_only(root, outside):
    store = PipelineStore(root)
    ids = [store.next_id() for _ in range(3)]
    (store.run_dir(ids[0]) / "escape").symlink_to(outside, target_is_directory=True)
    store.prune(set())  # KEEP is larger: nothing goes
    assert store.ids() == sorted(ids, reverse=True)
    from hybridhub.lab_ext.pipelines import local_store

    before = files_in(outside)
    original, local_store.KEEP = local_store.KEEP, 1
    try:
        store.prune({ids[1]})
    finally:
        local_store.KEEP = original
    assert store.ids() == [ids[2], ids[1]] and files_in(outside) == before


# -- the route: JSON with a reason code, never a 500 ----------------------------------------


@pytest.fixture
def jp_root_dir(root):
    return root


async def post_template(jp_fetch, body: dict) -> tuple[int, dict]:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("hybridhub", "pipelines", "template", method="POST", body=json.dumps(body))
    return info.value.code, json.loads(info.value.response.body)


async def test_the_template_route_answers_409_and_400_as_json(server, root, outside):
    jp_fetch = server
    (root / "notes.txt").write_text("mine\n")
    (root / "pipelines").symlink_to(outside, target_is_directory=True)
    before = files_in(outside)
    code, body = await post_template(jp_fetch, {"path": "notes.txt"})
    assert (code, body["reason"]) == (409, "file_exists") and "Choose another folder" in body["message"]
    code, body = await post_template(jp_fetch, {"path": "notes.txt", "overwrite": True})
    assert (code, body["reason"]) == (409, "file_exists")
    code, body = await post_template(jp_fetch, {"path": "pipelines", "overwrite": True})
    assert (code, body["reason"]) == (400, "invalid_path") and "symbolic link" in body["message"]
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("hybridhub", "pipelines", "template", params={"path": "pipelines"})
    assert info.value.code == 400 and json.loads(info.value.response.body)["reason"] == "invalid_path"
    assert files_in(outside) == before and (root / "notes.txt").read_text() == "mine\n"
    response = await jp_fetch("hybridhub", "pipelines", "template", method="POST", body=json.dumps({"path": "ok"}))
    assert response.code == 201 and json.loads(response.body)["path"] == "ok"
