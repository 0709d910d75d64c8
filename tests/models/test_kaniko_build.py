"""The template's build job (ci/build.sh) as it really runs: `sh ci/build.sh` in a job folder
(the template + a trained model/) with the kaniko stand-in (tests/kaniko_standin, a test double of
kaniko's executor) first on PATH; the image it pushes is pulled and run with the podman stand-in
(tests/podman_standin) and serves that model through REAL MLServer.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hybridhub.lab_ext.pipelines.template import TEMPLATE_DIR
from tests.kaniko_standin import HERE as KANIKO, register_model_server_base
from tests.models.test_onprem_deploy import Site, free_port, train
from tests.pipelines.conftest import infer, sample_data  # noqa: F401 (fixture)
from tests.podman_standin import HERE as PODMAN, register_login

pytestmark = [pytest.mark.models, pytest.mark.pipelines]

REGISTRY = "registry.test"
PROJECT_IMAGE = f"{REGISTRY}/group/sensors"
BASE = f"{REGISTRY}/hybridhub/model-server:0.1.0"
TOKEN = "job-token-value-7f3a"
MLSERVER = str(Path(sys.executable).with_name("mlserver"))


@pytest.fixture(scope="module")
def models(tmp_path_factory, sample_data) -> dict[str, Path]:  # noqa: F811
    base = tmp_path_factory.mktemp("kaniko-models")
    for version, c in (("1.0.1", "10"), ("1.0.2", "1")):
        train(base / version, version, sample_data["train"], c)
    return {version: base / version for version in ("1.0.1", "1.0.2")}


class Builder:
    """The build runner: the stand-ins' shared registry, the job's CI variables, job folders."""

    def __init__(self, base: Path) -> None:
        self.base, self.state = base, base / "registry"
        register_login(self.state, REGISTRY, "gitlab-ci-token", TOKEN)
        register_model_server_base(self.state, BASE, MLSERVER)
        self.env = {
            **os.environ, "PATH": os.pathsep.join([str(KANIKO), str(PODMAN), os.environ["PATH"]]),
            "PODMAN_STANDIN_STATE": str(self.state), "PODMAN_STANDIN_PYTHON": sys.executable,
            "DOCKER_CONFIG": str(base / "kaniko-docker"), "CI_REGISTRY": REGISTRY, "CI_REGISTRY_IMAGE": PROJECT_IMAGE,
            "CI_REGISTRY_USER": "gitlab-ci-token", "CI_REGISTRY_PASSWORD": TOKEN, "CI_COMMIT_SHA": "a1b2c3d4e5f6" * 3,
            "CI_COMMIT_SHORT_SHA": "a1b2c3d4", "CI_JOB_ID": "41", "MODEL_SERVER_IMAGE": BASE,
        }  # fmt: skip
        self.env.pop("HYBRIDHUB_LOCAL_RUN", None)

    def job(self, name: str, model: Path) -> Path:
        folder = self.base / "jobs" / name
        shutil.copytree(TEMPLATE_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(model, folder / "model")
        return folder

    def build(self, job: Path, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(["sh", "ci/build.sh"], cwd=job, env={**self.env, **env, "CI_PROJECT_DIR": str(job)},
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    def run(self, *argv: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(list(argv), env={**self.env, **env}, capture_output=True, text=True, timeout=60)

    def images(self) -> dict:
        return json.loads((self.state / "images.json").read_text())


@pytest.fixture
def builder(tmp_path):
    made = Builder(tmp_path)
    yield made
    containers = made.state / "containers"
    for folder in containers.glob("[0-9]*") if containers.is_dir() else []:
        made.run("podman", "rm", "-f", "-t", "2", json.loads((folder / "config.json").read_text())["name"])


def serves(port: int, timeout: float = 60) -> str:
    """The model_version MLServer answers with on ``port``, once the model is ready."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return infer(f"http://127.0.0.1:{port}", [[48.0, 4.1, 12.0]])["model_version"]
        except (OSError, ValueError):
            assert time.monotonic() < deadline, "the built image never served"
            time.sleep(0.3)


def test_the_build_job_pushes_an_image_that_podman_pulls_and_that_serves_the_model(builder, models):
    job = builder.job("build-1", models["1.0.1"])
    done = builder.build(job)
    assert done.returncode == 0, done.stdout + done.stderr
    image = json.loads((job / "image.json").read_text())
    assert image["ref"] == f"{PROJECT_IMAGE}/model:a1b2c3d4" and image["job_id"] == "41"
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", image["digest"]), image
    assert (job / "image-digest").read_text() == image["digest"]  # push.go: --digest-file gets the digest, no newline
    assert f"built {PROJECT_IMAGE}/model:a1b2c3d4@{image['digest']}" in done.stdout
    # push.go DoPush: every --destination is pushed (so its repo@digest too); --label's metadata is kept
    images = builder.images()
    pushed = images[f"{PROJECT_IMAGE}/model@{image['digest']}"]
    assert images[f"{PROJECT_IMAGE}/model:a1b2c3d4"] == pushed == images[f"{PROJECT_IMAGE}/model:latest"]
    assert pushed["labels"] == {"org.opencontainers.image.revision": "a1b2c3d4e5f6" * 3} and pushed["user"] == "10001"
    root = Path(pushed["rootfs"])
    assert (root / "mnt/models/model/model.joblib").read_bytes() == (models["1.0.1"] / "model.joblib").read_bytes()
    # the job token: in the owner-only credentials file kaniko reads, never in the job's output
    config = Path(builder.env["DOCKER_CONFIG"]) / "config.json"
    assert json.loads(config.read_text())["auths"][REGISTRY] == {"username": "gitlab-ci-token", "password": TOKEN}
    assert config.stat().st_mode & 0o077 == 0
    assert TOKEN not in done.stdout + done.stderr and TOKEN not in (builder.state / "images.json").read_text()
    # the deploy's pull of that digest works once logged in, and the container serves the model
    ref = f"{PROJECT_IMAGE}/model@{image['digest']}"
    login = subprocess.run(["podman", "login", "-u", "gitlab-ci-token", "--password-stdin", REGISTRY], input=TOKEN + "\n",
                           env=builder.env, capture_output=True, text=True)  # fmt: skip
    assert login.returncode == 0, login.stderr
    assert builder.run("podman", "pull", ref).returncode == 0
    port = free_port()
    started = builder.run("podman", "run", "-d", "--name", "built", "-p", f"127.0.0.1:{port}:8080", ref)
    assert started.returncode == 0, started.stderr
    assert serves(port) == "1.0.1"


def test_same_context_same_digest_and_a_changed_model_another(builder, models):
    """build.sh builds with --reproducible (kaniko README: timestamps stripped): the digest is the content's."""
    first = builder.build(builder.job("build-1", models["1.0.1"]))
    again = builder.build(builder.job("build-2", models["1.0.1"]))  # another folder, the same context
    other = builder.build(builder.job("build-3", models["1.0.2"]))
    assert [r.returncode for r in (first, again, other)] == [0, 0, 0], other.stdout + other.stderr
    digests = [json.loads((builder.base / "jobs" / n / "image.json").read_text())["digest"] for n in ("build-1", "build-2", "build-3")]
    assert digests[0] == digests[1] != digests[2]
    # the tag follows the last push; both digests stay pullable
    images = builder.images()
    assert images[f"{PROJECT_IMAGE}/model:latest"] == images[f"{PROJECT_IMAGE}/model@{digests[2]}"]
    assert f"{PROJECT_IMAGE}/model@{digests[0]}" in images


def test_wrong_credentials_fail_before_the_build_and_push_nothing(builder, models):
    job = builder.job("build-1", models["1.0.1"])
    before = builder.images()
    done = builder.build(job, CI_REGISTRY_PASSWORD="not-the-token")
    assert done.returncode == 1
    # root.go: CheckPushPermissions' error, wrapped, printed on stdout; exit 1 before DoBuild
    assert ("error checking push permissions -- make sure you entered the correct tag name, and that you are "
            f'authenticated correctly, and try again: checking push permission for "{PROJECT_IMAGE}/model:a1b2c3d4"') in done.stdout
    assert "UNAUTHORIZED: authentication required" in done.stdout
    assert not (job / "image.json").exists() and not (job / "image-digest").exists()
    assert builder.images() == before
    assert [p.name for p in (builder.state / "rootfs").iterdir()] == ["base-model-server"]
    assert "not-the-token" not in done.stdout + done.stderr and TOKEN not in done.stdout + done.stderr


def test_the_deploy_job_serves_what_the_build_job_pushed(tmp_path, models):
    """build.sh then deploy.sh in one job folder: the deploy pulls the digest of image.json."""
    site = Site(tmp_path)  # the serving machine of test_onprem_deploy: its registry login and front image
    try:
        register_model_server_base(site.state, BASE, MLSERVER)
        env = {**site.env, "PATH": os.pathsep.join([str(KANIKO), site.env["PATH"]]), "DOCKER_CONFIG": str(tmp_path / "kaniko-docker"),
               "CI_COMMIT_SHORT_SHA": "c0ffee12", "MODEL_SERVER_IMAGE": BASE}  # fmt: skip
        job = tmp_path / "jobs" / "pipeline-9"
        shutil.copytree(TEMPLATE_DIR, job, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(models["1.0.2"], job / "model")
        env["CI_PROJECT_DIR"] = str(job)
        built = subprocess.run(["sh", "ci/build.sh"], cwd=job, env=env, capture_output=True, text=True, timeout=120)
        assert built.returncode == 0, built.stdout + built.stderr
        digest = json.loads((job / "image.json").read_text())["digest"]
        deployed = subprocess.run(["sh", "ci/deploy.sh"], cwd=job, env=env, capture_output=True, text=True, timeout=180)
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        assert f"serving sensor-failure 1.0.2 on port {site.port}" in deployed.stdout
        (blue,) = [f for f in (site.state / "containers").glob("[0-9]*") if json.loads((f / "config.json").read_text())["name"] == "blue"]
        assert json.loads((blue / "config.json").read_text())["image"] == f"{PROJECT_IMAGE}/model@{digest}"
        assert infer(f"http://127.0.0.1:{site.port}", [[48.0, 4.1, 12.0]])["model_version"] == "1.0.2"
    finally:
        site.close()


# -- the stand-in itself keeps kaniko's behaviour (tests/kaniko_standin) --
def executor(builder: Builder, *args: str) -> subprocess.CompletedProcess:
    return builder.run("executor", *args)


def test_standin_is_strict_on_kaniko_syntax(builder, tmp_path):
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {BASE}\n")
    # cmd/executor/main.go: cobra's error ("Error: unknown flag") and exit 1
    wrong = executor(builder, "--context", str(context), "--bogus", "x")
    assert wrong.returncode == 1 and "Error: unknown flag: --bogus" in wrong.stderr and "Usage:" in wrong.stderr
    wrong = executor(builder, "-x", str(context))
    assert wrong.returncode == 1 and "Error: unknown shorthand flag: 'x' in -x" in wrong.stderr
    assert executor(builder, "--context").stderr.startswith("Error: flag needs an argument: --context")
    # cobra's legacyArgs (kaniko's root command has a `version` subcommand): an operand is an unknown
    # command; stripFlags takes the word after a non-boolean flag as its value, not after a boolean one
    operand = executor(builder, "--no-push", "false", "-c", str(context))
    assert operand.returncode == 1 and 'Error: unknown command "false" for "executor"' in operand.stderr
    assert "Run 'executor --help' for usage." in operand.stderr
    # root.go PersistentPreRunE: a destination or --no-push is required; the Dockerfile must exist
    alone = executor(builder, f"--context=dir://{context}")
    assert alone.returncode == 1 and "Error: you must provide --destination, or use --no-push" in alone.stderr
    missing = executor(builder, "-c", str(tmp_path), "--no-push")
    assert missing.returncode == 1 and "please provide a valid path to a Dockerfile within the build context" in missing.stderr
    # root.go's other flags exist in kaniko but not in the stand-in: refused, never ignored
    unimplemented = executor(builder, "-c", str(context), "--no-push", "--tar-path", "/tmp/x.tar")
    assert unimplemented.returncode == 1 and "--tar-path is not supported by the stand-in" in unimplemented.stdout


def test_standin_builds_the_dockerfile_subset_and_refuses_the_rest(builder, tmp_path):
    context = tmp_path / "ctx"
    (context / "src").mkdir(parents=True)
    (context / "src" / "a.txt").write_text("a")
    digest_file = tmp_path / "digest"
    base_args = ["-c", str(context), "--no-push", "--digest-file", str(digest_file)]
    (context / "Dockerfile").write_text("FROM busybox\nRUN echo hi\n")
    refused = executor(builder, *base_args)
    assert refused.returncode == 1 and "error building image: RUN is not supported by the stand-in" in refused.stdout
    (context / "Dockerfile").write_text('ARG BASE="x"\nFROM $BASE\n')
    quoted = executor(builder, *base_args)
    assert quoted.returncode == 1 and "quotes are not supported by the stand-in" in quoted.stdout
    # pkg/image/remote/remote.go RetrieveRemoteImage: a base the (open) registry lacks fails the build
    (context / "Dockerfile").write_text("ARG BASE=open.test/none:1\nFROM ${BASE}\nCOPY src/ /app/\n")
    unknown = executor(builder, *base_args)
    assert unknown.returncode == 1 and "MANIFEST_UNKNOWN" in unknown.stdout and not digest_file.exists()
    # the base's registry needs a login: without credentials in $DOCKER_CONFIG the pull is refused
    denied = executor(builder, *base_args, "--build-arg", f"BASE={BASE}")
    assert denied.returncode == 1 and "UNAUTHORIZED" in denied.stdout
    # --build-arg NAME (no value): the environment's value (root.go resolveEnvironmentBuildArgs);
    # --no-push: the digest file is written (push.go DoPush writes it first), nothing is registered
    docker = Path(builder.env["DOCKER_CONFIG"])
    docker.mkdir()
    (docker / "config.json").write_text(json.dumps({"auths": {f"https://{REGISTRY}": {"auth": base64.b64encode(f"gitlab-ci-token:{TOKEN}".encode()).decode()}}}))
    before = builder.images()
    built = builder.run("executor", *base_args, "--build-arg", "BASE", "--reproducible", BASE=BASE)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "Skipping push to container registry due to --no-push flag" in built.stderr
    reproducible = digest_file.read_text()
    assert reproducible.startswith("sha256:") and builder.images() == before
    # root.go valdiateFlags: KANIKO_NO_PUSH=true is --no-push (no permission check, nothing pushed)
    quiet = builder.run("executor", "-c", str(context), "-d", "open.test/z:1", "--build-arg", f"BASE={BASE}", KANIKO_NO_PUSH="true")
    assert quiet.returncode == 0 and "--no-push flag" in quiet.stderr and builder.images() == before
    # README --reproducible strips timestamps: without it, each build's digest differs (its creation time)
    digests = []
    for _ in range(2):
        assert builder.run("executor", *base_args, "--build-arg", f"BASE={BASE}").returncode == 0
        digests.append(digest_file.read_text())
    assert digests[0] != digests[1]
    assert builder.run("executor", *base_args, "--build-arg", f"BASE={BASE}", "--reproducible=true").returncode == 0
    assert digest_file.read_text() == reproducible


def test_standin_copies_as_the_dockerfile_reference_says_and_pushes_every_destination(builder, tmp_path):
    context = tmp_path / "ctx"
    (context / "src" / "deep").mkdir(parents=True)
    (context / "src" / "a.txt").write_text("a")
    (context / "src" / "deep" / "b.txt").write_text("b")
    # https://docs.docker.com/reference/dockerfile/#copy: a folder's contents (not the folder) are
    # copied; a dest ending in / is a folder; USER sets the image's user
    (context / "Dockerfile").write_text(f"FROM {BASE}\nCOPY src/ /app/\nCOPY src/a.txt /etc/one/\n"
                                        "COPY src/a.txt /etc/two.txt\nUSER 42\n")  # fmt: skip
    docker = Path(builder.env["DOCKER_CONFIG"])
    docker.mkdir()
    (docker / "config.json").write_text(json.dumps({"auths": {REGISTRY: {"username": "gitlab-ci-token", "password": TOKEN}}}))
    # push.go DoPush: each --destination is written (open.test needs no login: registries.json has no entry)
    done = executor(builder, "-c", str(context), "-d", "open.test/x:1", "--destination=open.test/y", "--label", "k=v")
    assert done.returncode == 0, done.stdout + done.stderr
    images = builder.images()
    pushed = images["open.test/x:1"]
    assert pushed == images["open.test/y:latest"]  # name.NewTag: no tag means latest
    (digest,) = {ref.split("@")[1] for ref in images if ref.startswith("open.test/x@")}
    assert images[f"open.test/y@{digest}"] == pushed and f"Pushed open.test/x@{digest}" in done.stderr
    root = Path(pushed["rootfs"])
    found = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert found == ["app/a.txt", "app/deep/b.txt", "etc/one/a.txt", "etc/two.txt"]
    assert pushed["user"] == "42" and pushed["labels"] == {"k": "v"} and pushed["command"] == ["mlserver", "start", "{rootfs:/mnt/models}"]
    assert (root / "mnt" / "models").is_dir()  # the base's filesystem is under the COPYed files
