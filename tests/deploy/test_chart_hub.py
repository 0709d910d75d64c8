"""The hub as the zero-to-jupyterhub chart runs it, over our AKS and site values, end to end.

The chart's own ``jupyterhub_config.py`` and ``z2jh.py`` (../shared/z2jh-4.4.0) in a hub pod's
mount namespace (tests/deploy/z2jh.py) with the chart's default values merged with
``jupyterhub-aks.yaml``, the site example and this machine's layer (loopback addresses, the
stand-ins' URLs); configurable-http-proxy as the proxy pod; the Kubernetes stand-in over HTTPS as
the cluster (in-cluster service-account auth, pools from the hub's catalog, pods as local
processes); the GitLab stand-in over HTTPS behind a company CA as the identity provider. The
culler, the cost service and the admin console are started by the hub itself, with the
environment it gives them.
The Secret of each user's own MinIO keys (``hybridhub-s3-users``) is built by the deploy guide's
own commands and laid out where the values mount it.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urljoin

import psutil
import pytest
import requests
from markupsafe import escape

from hybridhub.hub_ext.console.i18n import EN as CONSOLE_EN
from hybridhub.hub_ext.demo.ports import free_ports
from hybridhub.hub_ext.demo.supervisor import stop_process_tree
from hybridhub.hub_ext.doctor.i18n import text
from hybridhub.hub_ext.doctor.run import CHECKS, LIVE_CHECKS
from hybridhub.spawner.profiles import CATALOG_ENV
from tests.gitlab_standin import GitLabStandIn
from tests.gitlab_standin.state import DEVELOPER
from tests.hubclient import HubSession, wait_ready

from .guide_s3_users import build_users_secret
from .z2jh import (REPO, S3_USERS_KEY, S3_USERS_SECRET, SITE_SECRET_VALUES, VALUE_SETS, HubPod, chart_values,
                   config_for, with_cluster_dns)

pytestmark = pytest.mark.deploy

NAMESPACE = "jhub"
SERVICES = ("hub", "proxy-api", "proxy-public", "proxy-http")


def machine_layer(ports: dict[str, int], gitlab, client: tuple[str, str]) -> dict:
    """This test machine's values: loopback ports, the stand-ins, a token for the test's checks."""
    public = f"http://127.0.0.1:{ports['public']}/"
    return {
        "hub": {
            "config": {
                "HybridGitLabOAuthenticator": {
                    "gitlab_url": gitlab.url, "gitlab_ca_bundle": str(gitlab.ca_bundle),
                    "oauth_callback_url": f"{public}hub/oauth_callback",
                },
                "HybridSpawner": {"gitlab_url": gitlab.url},
            },
            "services": {
                "hybridhub-culler": {"url": f"http://hub:{ports['culler']}"},
                "hybridhub-cost": {"url": f"http://hub:{ports['cost']}"},
                "hybridhub-console": {"url": f"http://hub:{ports['console']}"},
                "tester": {},  # an API token for the test's own checks (the chart generates it)
            },
            "loadRoles": {"tester": {"scopes": ["admin:users", "admin:servers", "list:users"], "services": ["tester"]}},
            "extraFiles": {"hybridhub-services": {"data": {
                "HybridCuller": {"service_url": f"http://127.0.0.1:{ports['culler']}"},
                "CostService": {"service_url": f"http://127.0.0.1:{ports['cost']}", "save_interval": 0.5,
                                "hub_poll_interval": 0.5},
                "ConsoleService": {"service_url": f"http://127.0.0.1:{ports['console']}"},
            }}},
            # the chart binds the hub on all of the pod's interfaces; this machine allows loopback only
            "extraConfig": {"99-test-machine-loopback": (
                "import os\nc.JupyterHub.hub_bind_url = 'http://127.0.0.1:' + os.environ['HUB_SERVICE_PORT']\n")},
        },
        # user servers report their activity to the culler at the hub's Service, on this machine's port
        "singleuser": {"extraEnv": {"HYBRIDHUB_CULLER_URL": f"http://hub:{ports['culler']}/services/hybridhub-culler/",
                                    "HYBRIDHUB_COST_SERVICE_URL": f"http://hub:{ports['cost']}/services/hybridhub-cost/"}},
    }


class Deployment:
    def __init__(self, root: Path):
        self.root = root
        self.procs: list[subprocess.Popen] = []
        self.ports = dict(zip(("hub", "api", "public", "culler", "cost", "kube", "console"), free_ports(7)))

    def start(self, argv: list[str], name: str, env: dict | None = None) -> subprocess.Popen:
        log = open(self.root / f"{name}.log", "wb")
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True)
        self.procs.append(proc)
        return proc

    def log(self, name: str) -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        for proc in reversed(self.procs):
            stop_process_tree(proc)


def wait_for(check, timeout: float, what: str, logs=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (requests.RequestException, OSError, ValueError):
            pass
        time.sleep(0.3)
    raise AssertionError(f"{what} within {timeout} s\n{logs()[-4000:]}")


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    root = tmp_path_factory.mktemp("chart-hub")
    gitlab = GitLabStandIn(root / "gitlab", tls=True).start()
    people = {name: gitlab.world.add_user(name) for name in ("alice", "bob", "carol")}
    alice = people["alice"]
    gitlab.world.add_group("mlops", {user: DEVELOPER for user in people.values()})
    # MinIO identities for alice and bob only: carol is the colleague not added yet
    s3_users = build_users_secret(root / "admin", ["alice", "bob"])
    d = Deployment(root)
    public = f"http://127.0.0.1:{d.ports['public']}/"
    client = gitlab.world.register_app(f"{public}hub/oauth_callback")
    values = chart_values(*VALUE_SETS["aks+site"], machine_layer(d.ports, gitlab, client))
    secret = {**SITE_SECRET_VALUES, "gitlab-oauth-client-id": client[0], "gitlab-oauth-client-secret": client[1]}
    service_hosts = {"hub": ("127.0.0.1", d.ports["hub"]), "proxy-api": ("127.0.0.1", d.ports["api"]),
                     "proxy-public": ("127.0.0.1", d.ports["public"]), "proxy-http": ("127.0.0.1", d.ports["public"])}
    pod = HubPod(root / "hub-pod", values, site_secret=secret, service_hosts=service_hosts, namespace=NAMESPACE,
                 kube_api=("127.0.0.1", d.ports["kube"]), mounted_secrets={s3_users.name: s3_users.data})
    hub_env = pod.environment()
    try:
        # the cluster, built from the hub's own catalog (as its services get it)
        catalog = next(s for s in config_for("aks+site", **{k: v for k, v in hub_env.items()
                                                            if k.startswith("HYBRIDHUB_IMAGE_")})
                       ["JupyterHub"]["services"] if s["name"] == "hybridhub-cost")["environment"][CATALOG_ENV]
        pod.write()
        kube = d.start(with_cluster_dns(pod.hosts, [sys.executable, "-m", "tests.deploy.chart_cluster",
                                                    "--port", str(d.ports["kube"]), "--token", pod.kube_token,
                                                    "--tls-dir", str(root / "kube-tls"), "--namespace", NAMESPACE]),
                       "kube", env={**os.environ, CATALOG_ENV: catalog,  # the image's PATH: jupyterhub-singleuser
                                    "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"})
        wait_for(lambda: any(line.startswith('{"url"') for line in d.log("kube").splitlines()), 60,
                 "the Kubernetes stand-in did not start", lambda: d.log("kube"))
        assert kube.poll() is None
        pod.kube_ca = root / "kube-tls" / "ca.pem"
        pod.write()
        proxy = [str(REPO / ".venv" / "bin" / "configurable-http-proxy"), "--ip", "127.0.0.1", "--port",
                 str(d.ports["public"]), "--api-ip", "127.0.0.1", "--api-port", str(d.ports["api"]),
                 "--default-target", f"http://hub:{d.ports['hub']}",
                 "--error-target", f"http://hub:{d.ports['hub']}/hub/error"]
        d.start(with_cluster_dns(pod.hosts, proxy), "proxy",
                env={"PATH": os.environ["PATH"], "CONFIGPROXY_AUTH_TOKEN": hub_env["CONFIGPROXY_AUTH_TOKEN"]})
        # the hub container's command (templates/hub/deployment.yaml)
        d.hub = d.start(pod.command(["jupyterhub", "--config", "/usr/local/etc/jupyterhub/jupyterhub_config.py",
                                     "--upgrade-db"]), "hub", env=hub_env)  # unshare and sh exec: this pid is the hub
        wait_for(lambda: requests.get(f"{public}hub/api/", timeout=3).status_code == 200, 90,
                 "the hub did not answer through the proxy", lambda: d.log("hub"))
        yield d, pod, gitlab, alice, public, people
    finally:
        d.stop()
        gitlab.stop()


class Kube:
    """The test's own client of the stand-in (the hub's service-account token and CA)."""

    def __init__(self, pod: HubPod, port: int):
        self.base = f"https://127.0.0.1:{port}"
        self.headers = {"Authorization": f"Bearer {pod.kube_token}"}
        self.verify = str(pod.kube_ca)

    def get(self, path: str) -> dict:
        r = requests.get(self.base + path, headers=self.headers, verify=self.verify, timeout=10)
        r.raise_for_status()
        return r.json()


def login(public: str, gitlab, user) -> HubSession:
    """The browser's OAuth dance through the GitLab stand-in."""
    session = requests.Session()
    session.cookies.set("_gitlab_session", gitlab.world.sign_in(user), domain="127.0.0.1", path="/")
    start = session.get(urljoin(public, "hub/oauth_login"), allow_redirects=False, timeout=30)
    assert start.status_code == 302 and start.headers["Location"].startswith(f"{gitlab.url}/oauth/authorize?")
    authorize = session.get(start.headers["Location"], allow_redirects=False, timeout=30, verify=str(gitlab.ca_bundle))
    assert authorize.status_code == 302, authorize.text
    callback = session.get(authorize.headers["Location"], allow_redirects=False, timeout=30)
    assert callback.status_code == 302, callback.text
    assert session.get(urljoin(public, "hub/home"), timeout=30).status_code == 200
    return HubSession(public, session)


def pod_env(kube: Kube, name: str) -> dict[str, str]:
    pod = kube.get(f"/api/v1/namespaces/{NAMESPACE}/pods/{name}")
    (notebook,) = pod["spec"]["containers"]
    return {e["name"]: e.get("value") for e in notebook["env"]}


def s3_users(pod: HubPod) -> dict[str, dict[str, str]]:
    """users.json as the hub pod sees it now (the mounted Secret)."""
    return json.loads(pod.mounted_secrets[S3_USERS_SECRET][S3_USERS_KEY])


def test_login_spawn_cpu_and_gpu_with_token_and_costs(deployment):
    d, pod, gitlab, alice, public, _ = deployment
    kube = Kube(pod, d.ports["kube"])
    session = login(public, gitlab, alice)
    own = s3_users(pod)["alice"]
    summaries = []
    for profile in ("cpu", "gpu-a10"):
        response = session.api("POST", "users/alice/server", json={"profile": profile})
        assert response.status_code in (201, 202), response.text
        wait_ready(session, "alice", timeout=180, failure=lambda model: d.log("hub")[-4000:])
        spec = kube.get(f"/api/v1/namespaces/{NAMESPACE}/pods/jupyter-alice")["spec"]
        assert [c["name"] for c in spec.get("initContainers", [])] == ["block-cloud-metadata"]
        node = kube.get(f"/api/v1/nodes/{spec['nodeName']}")
        assert node["metadata"]["labels"]["agentpool"] == ("cpu" if profile == "cpu" else "gpua10")
        env = pod_env(kube, "jupyter-alice")
        assert env["HYBRIDHUB_PROFILE"] == profile
        token = env["HYBRIDHUB_GITLAB_TOKEN"]
        assert token and gitlab.world.tokens[token].user is alice  # the token GitLab issued at login
        assert env["HYBRIDHUB_GITLAB_URL"] == gitlab.url
        assert env["HYBRIDHUB_S3_ENDPOINT"] == "https://minio.corp.example:9000"
        # her own MinIO keys from the mounted users.json (docs/deploy-aks.md, step 1)
        assert [env["HYBRIDHUB_S3_ACCESS_KEY"], env["HYBRIDHUB_S3_SECRET_KEY"]] == [own["access_key"], own["secret_key"]]
        assert env["HYBRIDHUB_CULLER_URL"] == f"http://hub:{d.ports['culler']}/services/hybridhub-culler/"
        assert env["HYBRIDHUB_COST_SERVICE_URL"] == f"http://hub:{d.ports['cost']}/services/hybridhub-cost/"
        # the server's own token: JupyterHub's server role plus the cost service (the values' user role holds it)
        me = requests.get(f"{public}hub/api/user", headers={"Authorization": f"token {env['JUPYTERHUB_API_TOKEN']}"},
                          timeout=30)
        assert me.status_code == 200 and me.json()["name"] == "alice", me.text
        # (users:activity implies reading the user's name, groups and activity: jupyterhub/scopes.py)
        assert set(me.json()["scopes"]) == {"users:activity!user=alice", "read:users:activity!user=alice",
                                            "read:users:name!user=alice", "read:users:groups!user=alice",
                                            "access:servers!server=alice/",
                                            "access:services!service=hybridhub-cost"}, me.json()["scopes"]
        # JupyterLab itself answers through the proxy (OAuth with the hub on the way)
        lab = session.session.get(f"{public}user/alice/lab", timeout=60)
        assert lab.status_code == 200 and lab.url == f"{public}user/alice/lab", (lab.status_code, lab.url)
        assert session.api("DELETE", "users/alice/server").status_code in (202, 204)
        wait_for(lambda: not session.api("GET", "users/alice").json().get("servers"), 60, "alice's server did not stop")
    # the cost service, started by the hub, measured the nodes the spawns brought up
    def measured():
        r = session.session.get(f"{public}services/hybridhub-cost/api/summary", timeout=30)
        summary = r.json() if r.status_code == 200 else {}
        pools = {p["name"]: p for p in summary.get("pools", [])}
        ok = all(float(pools.get(name, {}).get("node_hours", 0)) > 0 for name in ("cpu", "gpua10"))
        summaries.append(summary)
        return ok and summary
    summary = wait_for(measured, 60, "the cost page did not show the spawns' node-hours",
                       lambda: "\n".join(line for line in d.log("hub").splitlines() if "GET /" not in line
                                          and "XSRF" not in line)[-3000:] + json.dumps(summaries[-1:])[:3000])
    assert "Config not found" not in d.log("hub") and "cannot reach Kubernetes" not in d.log("hub")


def test_services_run_with_the_hubs_catalog_and_the_cluster(deployment):
    """The culler and the cost service, as the hub started them, see the hub's catalog (the site
    registry's images, rewritten by extraConfig) and the API server, not the built-in defaults."""
    d, pod, *_ = deployment
    hub_env = pod.environment()
    modules = {"hybridhub.hub_ext.culler", "hybridhub.hub_ext.cost"}

    def services_of_this_hub() -> dict:
        found = {}
        for proc in psutil.Process(d.hub.pid).children(recursive=True):
            cmdline = proc.cmdline()
            for module in modules & set(cmdline):
                found[module] = proc.environ()
        return found if set(found) == modules else None

    seen = wait_for(services_of_this_hub, 30, "the hub did not run both services", lambda: d.log("hub"))
    registry = hub_env["HYBRIDHUB_IMAGE_REGISTRY"]
    for env in seen.values():
        profiles = json.loads(env[CATALOG_ENV])["profiles"]
        assert [p["slug"] for p in profiles] == ["cpu", "gpu-a10", "gpu-a10-large"]
        assert all(p["image"].startswith(registry + "/") for p in profiles)
        assert env["KUBERNETES_SERVICE_HOST"] == "127.0.0.1" and env["POD_NAMESPACE"] == NAMESPACE
        assert "CONFIGPROXY_AUTH_TOKEN" not in env
        assert not [k for keys in s3_users(pod).values() for k in keys.values() if k in env.values()]


def spawn_failure(session: HubSession, name: str) -> str:
    """The message the spawn page shows for a failed start (its progress stream's last event)."""
    with session.session.get(f"{session.base_url}hub/api/users/{name}/server/progress", stream=True, timeout=30,
                             headers={"X-XSRFToken": session.xsrf}) as r:
        events = [json.loads(line[len("data:"):]) for line in r.iter_lines(decode_unicode=True)
                  if line and line.startswith("data:")]
    assert events and events[-1].get("failed"), events
    return events[-1]["message"]


def test_each_server_gets_only_its_own_users_s3_keys_and_a_new_colleague_needs_no_restart(deployment, tmp_path):
    """Two users with keys get their own, never another's; a user missing from users.json gets no
    server and a message naming her and the file (no key in it, none in the hub's log); once the
    Secret is replaced (the guide's step 8, seen in the pod after the kubelet's sync) the same
    running hub starts her server with her keys."""
    d, pod, gitlab, _, public, people = deployment
    kube = Kube(pod, d.ports["kube"])
    sessions = {name: login(public, gitlab, people[name]) for name in ("bob", "carol")}
    assert sessions["bob"].api("POST", "users/bob/server", json={"profile": "cpu"}).status_code in (201, 202)

    # within the hub's slow_spawn_timeout the failure is the answer (500), else it comes later (202)
    assert sessions["carol"].api("POST", "users/carol/server", json={"profile": "cpu"}).status_code in (202, 500)
    with pytest.raises(AssertionError, match="spawn of carol failed"):
        wait_ready(sessions["carol"], "carol", timeout=60)
    message = spawn_failure(sessions["carol"], "carol")
    path = pod.values["hub"]["config"]["HybridSpawner"]["storage_credentials_file"]
    assert f"no storage credentials for user 'carol' in {path}" in message
    pods = [p["metadata"]["name"] for p in kube.get(f"/api/v1/namespaces/{NAMESPACE}/pods")["items"]]
    assert "jupyter-carol" not in pods

    before = pod.mounted_secrets[S3_USERS_SECRET][S3_USERS_KEY]
    added = build_users_secret(tmp_path, ["carol"], existing=before)
    pod.update_secret(added.name, added.data)
    assert sessions["carol"].api("POST", "users/carol/server", json={"profile": "cpu"}).status_code in (201, 202)

    keys = s3_users(pod)
    assert set(keys) == {"alice", "bob", "carol"} and len({k["secret_key"] for k in keys.values()}) == 3
    for name in ("bob", "carol"):
        wait_ready(sessions[name], name, timeout=180, failure=lambda model: d.log("hub")[-4000:])
        env = pod_env(kube, f"jupyter-{name}")
        assert (env["HYBRIDHUB_S3_ACCESS_KEY"], env["HYBRIDHUB_S3_SECRET_KEY"]) == (
            keys[name]["access_key"], keys[name]["secret_key"])
        others = [k["secret_key"] for other, k in keys.items() if other != name]
        assert not [s for s in others if s in "\n".join(v or "" for v in env.values())]
    hub_log = d.log("hub")
    assert "no storage credentials for user 'carol'" in hub_log  # the log read below is the right one
    # a SpawnException: JupyterHub logs one line, no traceback (jupyterhub/user.py, User.spawn)
    assert "Not starting carol's server" in hub_log and "Unhandled error starting carol's server" not in hub_log
    assert not [k["secret_key"] for k in keys.values() if k["secret_key"] in hub_log]
    for name in ("bob", "carol"):
        assert sessions[name].api("DELETE", f"users/{name}/server").status_code in (202, 204)


def test_the_hub_logs_the_doctors_report_after_start(deployment):
    """hub.extraConfig 95-hybridhub-doctor: one log line per check a few seconds after start, the
    configuration checks all passing on these values; no secret in any of it."""
    d, pod = deployment[0], deployment[1]
    config_checks = [name for name, _ in CHECKS]
    names = config_checks + [name for name, _ in LIVE_CHECKS]

    def report() -> list[str]:
        lines = [line for line in d.log("hub").splitlines() if "hybridhub doctor [" in line]
        return lines if len(lines) >= len(names) else []

    lines = wait_for(report, 60, "the doctor's report in the hub's log", logs=lambda: d.log("hub"))
    for name in names:
        title = text("en", f"title_{name}")
        assert [line for line in lines if f"] {title}: " in line], (name, lines)
    # the store's name does not resolve on this machine; GitLab is the stand-in the hub logs in with
    for name in config_checks + ["gitlab-answers", "gitlab-oauth"]:
        passed = f"[{text('en', 'pass')}] {text('en', f'title_{name}')}: "
        assert [line for line in lines if passed in line], (name, lines)
    keys = s3_users(pod)
    report_text = "\n".join(lines)
    assert not [k for user in keys.values() for k in user.values() if k in report_text]


def test_the_admin_console_shows_the_doctors_report_and_the_figures(deployment):
    """hybridhub-console, started by the hub with the role and services.json of the values: the
    doctor's report on the chart's own config file (run in the console with the hub's environment:
    the same checks pass as in the hub's log), the cost service's summary file and the culler's
    decisions, for alice (an admin in the site values); no secret on the page."""
    d, pod, gitlab, alice, public, _ = deployment
    session = login(public, gitlab, alice)
    checks = [name for name, _ in CHECKS] + ["gitlab-answers", "gitlab-oauth"]

    def console() -> str:
        r = session.session.get(f"{public}services/hybridhub-console/", timeout=30,
                                headers={"Accept-Language": "en"})
        done = r.status_code == 200 and str(escape(text("en", "title_gitlab-oauth"))) in r.text
        return r.text if done and "cpu" in r.text else ""

    html = wait_for(console, 120, "the console did not show the doctor's report", lambda: d.log("hub"))
    for name in checks:
        row = f'<span class="badge text-bg-success">{text("en", "pass")}</span></td><td>{escape(text("en", f"title_{name}"))}</td>'
        assert row in html, (name, html[html.find('id="console-doctor"'):][:4000])
    assert "/usr/local/etc/jupyterhub/jupyterhub_config.py" in html
    assert CONSOLE_EN["no_cost"].split(":")[0] not in html and "<svg" in html  # the cost summary was read
    assert CONSOLE_EN["no_culler"].split("(")[0] not in html  # the culler answered the console's token
    hidden = [pod.site_secret["gitlab-oauth-client-secret"], pod.site_secret["crypt-key"], *pod.generated.values()]
    secrets_seen = [v for v in hidden if v in html]
    secrets_seen += [user["secret_key"] for user in s3_users(pod).values() if user["secret_key"] in html]
    assert not secrets_seen
