"""The GitLab backend against a stand-in that refuses what GitLab refuses: no hidden variable
with a launch, a lost answer found again by ref, sha, user and time, protected refs and
restricted variables as their own reasons, and list timings from the detail entity."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from hybridhub.lab_ext.pipelines import lost_launch
from hybridhub.lab_ext.pipelines.errors import PipelineError
from hybridhub.lab_ext.pipelines.gitlab_backend import DETAIL_ROWS, GitLabBackend
from tests.gitlab_standin.server import Response
from tests.gitlab_standin.state import DEVELOPER

from .conftest import ci_standin

pytestmark = pytest.mark.pipelines


@pytest.fixture
def world(tmp_path):
    with ci_standin(tmp_path, {"alice": DEVELOPER}) as (standin, ci, project, users):
        ci.project, ci.pid = project, str(project.id)
        ci.token = standin.world.issue(users["alice"], ["api"]).value
        yield ci


@pytest.fixture
async def backend(world):
    gl = GitLabBackend(world.gitlab.url, world.token, timeout=10)
    yield gl
    await gl.close()


async def test_a_launch_without_variables_sends_none_and_works_when_variables_are_restricted(world, backend):
    world.project.ci_pipeline_variables_minimum_override_role = "no_one_allowed"  # GitLab.com's new default
    created = await backend.create(world.pid, "main", [], "no-vars-launch-1")
    assert created["variables"] == [] and world.pipelines[created["id"]].variables == []


async def test_restricted_variables_and_protected_refs_have_their_own_reasons(world, backend):
    world.project.ci_pipeline_variables_minimum_override_role = "maintainer"
    with pytest.raises(PipelineError) as info:
        await backend.create(world.pid, "main", [{"key": "EPOCHS", "value": "3"}], "vars-launch-01")
    assert (info.value.reason, info.value.status) == ("variables_not_allowed", 403)
    assert "Minimum role to use pipeline variables" in info.value.message
    world.project.protect("main")  # back to "fully protected": push and merge Maintainers
    with pytest.raises(PipelineError) as info:
        await backend.create(world.pid, "main", [], "protected-launch-1")
    assert (info.value.reason, info.value.status) == ("protected_ref", 403)
    assert "new branch" in info.value.message and "'main'" in info.value.details
    assert len(world.pipelines) == 0


async def test_lost_answers_are_found_by_ref_sha_user_and_time(world):
    world.project.ci_pipeline_variables_minimum_override_role = "no_one_allowed"
    impatient = GitLabBackend(world.gitlab.url, world.token, timeout=1)
    world.slow_create_answer = 2.5
    for request_id in ("lost-launch-a1", "lost-launch-b2"):  # two lost launches of the same ref and commit
        with pytest.raises(PipelineError) as info:
            await impatient.create(world.pid, "main", [], request_id)
        assert info.value.reason == "gitlab_unreachable"
    first, second = sorted(world.pipelines)
    world.slow_create_answer = 0
    assert (await impatient.create(world.pid, "main", [], "lost-launch-b2"))["id"] == first  # the oldest unclaimed
    assert (await impatient.create(world.pid, "main", [], "lost-launch-a1"))["id"] == second
    assert world.create_calls == 2  # neither retry started a pipeline
    fresh = await impatient.create(world.pid, "main", [], "a-new-launch-3")
    assert fresh["id"] not in (first, second) and world.create_calls == 3
    await impatient.close()


def test_matching_respects_the_window_the_ref_and_claims():
    attempt = lost_launch.Attempt("main", "a" * 40, "alice", since=1_000_000.0, until=1_000_010.0)

    def item(pid, created, ref="main", sha="a" * 40):
        stamp = datetime.fromtimestamp(created, timezone.utc).isoformat()
        return {"id": pid, "ref": ref, "sha": sha, "created_at": stamp.replace("+00:00", "Z")}
    skew = lost_launch.CLOCK_SKEW
    listed = [item(5, 1_000_020 + skew), item(4, 1_000_005, sha="b" * 40), item(3, 1_000_005, ref="dev"),
              item(2, 1_000_005), item(1, 999_999 - skew)]  # fmt: skip
    assert lost_launch.match(listed, attempt, set()) == 2
    assert lost_launch.match(listed, attempt, {2}) is None


async def test_the_list_shows_timings_from_the_detail_of_visible_rows_only(world, backend):
    for n in range(DETAIL_ROWS + 3):
        created = await backend.create(world.pid, "main", [], None)
        job = world.job(world.pipelines[created["id"]], "train")
        world.start(job)
        if n % 2 == 0:
            world.finish(job, "failed")  # a failed job finishes its pipeline
    detail = re.compile(rf"GET /api/v4/projects/{world.pid}/pipelines/\d+$")
    before = len([line for line in world.gitlab.log if detail.match(line)])
    rows = await backend.pipelines(world.pid, limit=DETAIL_ROWS)
    fetched = len([line for line in world.gitlab.log if detail.match(line)]) - before
    assert len(rows) == DETAIL_ROWS and fetched == DETAIL_ROWS  # one detail per visible row, none for the rest
    finished = [r for r in rows if r["status"] == "failed"]
    assert finished and all(r["started_at"] and r["finished_at"] and r["duration"] is not None for r in finished)
    running = [r for r in rows if r["status"] == "running"]
    assert running and all(r["started_at"] and r["finished_at"] is None for r in running)
    before = len([line for line in world.gitlab.log if detail.match(line)])
    await backend.pipelines(world.pid, limit=DETAIL_ROWS)
    again = len([line for line in world.gitlab.log if detail.match(line)]) - before
    assert again == len(running)  # a finished pipeline's timings are kept


async def test_a_pipeline_deleted_between_list_and_detail_keeps_the_list(world, backend):
    first = await backend.create(world.pid, "main", [], None)
    second = await backend.create(world.pid, "main", [], None)
    real_get = next(handler for method, pattern, handler, _ in world.gitlab.routes
                    if method == "GET" and pattern.endswith(r"/pipelines/(\d+)"))  # fmt: skip

    def gone(gitlab, request, ref, pipeline_id):  # as if deleted right after the list was read
        if int(pipeline_id) == first["id"]:
            return Response.json({"message": "404 Not found"}, 404)
        return real_get(gitlab, request, ref, pipeline_id)

    def no_jobs(gitlab, request, ref, pipeline_id):
        return Response.json({"message": "404 Not found"}, 404)

    world.gitlab.routes = [("GET", r"/api/v4/projects/([^/]+)/pipelines/(\d+)", gone, []),
                           ("GET", rf"/api/v4/projects/([^/]+)/pipelines/({first['id']})/jobs", no_jobs,
                            ["per_page", "include_retried"])] + world.gitlab.routes  # fmt: skip
    rows = {row["id"]: row for row in await backend.pipelines(world.pid)}
    assert rows[first["id"]]["started_at"] is None and rows[second["id"]]["status"] == "created"
