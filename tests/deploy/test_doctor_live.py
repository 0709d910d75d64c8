"""The doctor's live checks against the real systems: SeaweedFS (the ``object_store`` fixture, a
real S3 server enforcing SigV4) and the GitLab stand-in over TLS. Each check passes on the good
setup and fails on purpose: a wrong secret key, a missing bucket, versioning off, no CORS, a closed
port, a wrong CA, GitLab down, a skewed clock. The check functions are called with a context built
from a small config; one test runs the CLI on a hub config file (with and without ``--offline``).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import socket
import threading
import time
from base64 import b64encode
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from traitlets.config import Config

from hybridhub.hub_ext.doctor import checks_live_gitlab as gitlab_checks
from hybridhub.hub_ext.doctor import checks_live_store as store
from hybridhub.hub_ext.doctor.check import Context
from hybridhub.hub_ext.doctor.i18n import text
from hybridhub.hub_ext.doctor.report import render_json
from hybridhub.hub_ext.doctor.run import CHECKS, LIVE_CHECKS, run_checks
from tests.gitlab_standin import GitLabStandIn
from tests.storage.conftest import minio_for, new_bucket

pytestmark = pytest.mark.deploy

HUB_ORIGIN = "https://hub.example.test"


@pytest.fixture(scope="module")
def gitlab(tmp_path_factory):
    with GitLabStandIn(tmp_path_factory.mktemp("gitlab"), tls=True) as standin:
        yield standin


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory):
    """A CA that did not sign the stand-in's certificate (a second stand-in's, never started)."""
    from tests.gitlab_standin.tls import make_ca_and_server_cert

    return make_ca_and_server_cert(tmp_path_factory.mktemp("other-ca"))[0]


@pytest.fixture(scope="module")
def buckets(object_store):
    """A versioned bucket whose CORS allows GET and PUT from the hub, an unversioned one without CORS,
    and one whose CORS allows only GET from the hub."""
    c = object_store.credentials
    admin = minio_for(object_store, c.admin_access_key, c.admin_secret_key)
    good, plain, get_only = new_bucket(admin, versioned=True), new_bucket(admin), new_bucket(admin)
    for bucket, methods in ((good, ("GET", "PUT")), (get_only, ("GET",))):
        rules = (f"<CORSConfiguration><CORSRule><AllowedOrigin>{HUB_ORIGIN}</AllowedOrigin>"
                 + "".join(f"<AllowedMethod>{m}</AllowedMethod>" for m in methods)
                 + "<ExposeHeader>ETag</ExposeHeader></CORSRule></CORSConfiguration>").encode()
        # minio 7.2 has no CORS call; S3 PutBucketCors requires Content-MD5
        admin._execute("PUT", bucket, body=rules, query_params={"cors": ""},
                       headers={"Content-MD5": b64encode(hashlib.md5(rules).digest()).decode()})
    return {"good": good, "plain": plain, "get_only": get_only}


@pytest.fixture
def keys_file(tmp_path, object_store):
    """The per-user keys file with one user: the store's user identity."""
    c = object_store.credentials
    path = tmp_path / "users.json"
    path.write_text(json.dumps({"alice": {"access_key": c.user_access_key, "secret_key": c.user_secret_key}}))
    return path


@pytest.fixture
def setup(object_store, buckets, keys_file, gitlab):
    """The good setup as a hub config; tests change one thing."""
    config = Config()
    config.JupyterHub.spawner_class = "hybridhub.spawner.kube.HybridKubeSpawner"
    config.JupyterHub.public_url = f"{HUB_ORIGIN}/"
    config.HybridSpawner.storage_endpoint = object_store.endpoint
    config.HybridSpawner.storage_browser_endpoint = object_store.endpoint
    config.HybridSpawner.storage_credentials_file = str(keys_file)
    config.HybridSpawner.storage_default_bucket = buckets["good"]
    config.HybridSpawner.gitlab_url = gitlab.url
    config.HybridSpawner.gitlab_ca_bundle = str(gitlab.ca_bundle)
    return config


def closed_port_url(scheme: str = "http") -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"{scheme}://127.0.0.1:{port}"


def verdict(result) -> tuple:
    return result.check, result.status, result.saw, result.fix


# the cluster and runner checks, tested against the kube, registry and GitLab stand-ins in
# tests/deploy/test_doctor_cluster.py; here there is no cluster and no runner token
CLUSTER_CHECKS = {"kube-access": ("fail", "fix_kube_no_config"), "pools": ("fail", "fix_kube_no_config"),
                  "gpu-nodes": ("fail", "fix_kube_no_config"), "images": ("fail", "fix_kube_no_config"),
                  "image-pullers": ("fail", "fix_kube_no_config"), "runners": ("warn", "fix_runners_no_token")}


def test_all_green_on_the_good_setup(setup, object_store, tmp_path, monkeypatch):
    from hybridhub.hub_ext.doctor import kube

    monkeypatch.setattr(kube, "SERVICE_ACCOUNT", str(tmp_path / "no-service-account"))  # not in a pod
    results = run_checks(Context(setup, environ={"HOME": str(tmp_path)}))
    live = {r.check: r for r in results[len(CHECKS):]}
    assert list(live) == [name for name, _ in LIVE_CHECKS]
    assert {name: (r.status, r.fix) for name, r in live.items() if name in CLUSTER_CHECKS} == CLUSTER_CHECKS
    assert {name: r.status for name, r in live.items() if name not in CLUSTER_CHECKS} == {
        name: "pass" for name, _ in LIVE_CHECKS if name not in CLUSTER_CHECKS}, live
    assert live["store-keys-accepted"].values["user"] == "alice"
    assert live["store-cors"].values["origin"] == HUB_ORIGIN
    assert live["gitlab-answers"].values["status"] == 401  # unauthenticated: reachable all the same
    report = render_json(results, "jupyterhub_config.py")
    assert object_store.credentials.user_secret_key not in report  # a user's secret key is never shown


def test_wrong_secret_key_is_refused(setup, keys_file, object_store):
    keys_file.write_text(json.dumps({"alice": {"access_key": object_store.credentials.user_access_key,
                                               "secret_key": secrets.token_urlsafe(24)}}))
    context = Context(setup)
    assert verdict(store.store_keys_accepted(context)) == (
        "store-keys-accepted", "fail", "saw_store_keys", "fix_store_keys")
    assert store.store_keys_accepted(context).values["code"] == "SignatureDoesNotMatch"
    assert store.bucket_versioning(context).fix == "fix_store_keys"


def test_missing_bucket_fails_and_versioning_off_warns(setup, buckets):
    setup.HybridSpawner.storage_default_bucket = "t-no-such-bucket-here"
    assert verdict(store.bucket_versioning(Context(setup))) == (
        "store-bucket", "fail", "saw_store_no_bucket", "fix_store_bucket")
    setup.HybridSpawner.storage_default_bucket = "x"  # too short for S3: the SDK refuses before asking
    assert verdict(store.bucket_versioning(Context(setup))) == (
        "store-bucket", "fail", "saw_store_bucket_name", "fix_store_bucket")
    setup.HybridSpawner.storage_default_bucket = buckets["plain"]
    off = store.bucket_versioning(Context(setup))
    assert verdict(off) == ("store-bucket", "warn", "saw_store_versioning_off", "fix_store_versioning")
    assert "pins" in text("en", off.saw, **off.values)


def test_cors_must_allow_the_hubs_origin(setup, buckets):
    setup.JupyterHub.public_url = "https://elsewhere.example.test/"
    assert verdict(store.bucket_cors(Context(setup))) == (
        "store-cors", "warn", "saw_cors_not_allowed", "fix_store_cors")
    # no public_url: the hub's address is the login's callback URL (as the site values give it)
    del setup.JupyterHub["public_url"]
    setup.JupyterHub.authenticator_class = "hybridhub.hub_ext.gitlab.HybridGitLabOAuthenticator"
    setup.HybridGitLabOAuthenticator.oauth_callback_url = f"{HUB_ORIGIN}/hub/oauth_callback"
    allowed = store.bucket_cors(Context(setup))
    assert (allowed.status, allowed.values["origin"]) == ("pass", HUB_ORIGIN)
    # the hub's address unknown: the rules for one origin do not allow any origin
    del setup.HybridGitLabOAuthenticator["oauth_callback_url"]
    unknown = store.bucket_cors(Context(setup))
    assert (unknown.status, unknown.saw, unknown.values["origin"]) == ("warn", "saw_cors_not_allowed", "*")
    # a bucket without rules: SeaweedFS (like MinIO) then allows any origin, which the preflight shows
    setup.HybridSpawner.storage_default_bucket = buckets["plain"]
    assert store.bucket_cors(Context(setup)).status == "pass"
    setup.HybridSpawner.storage_browser_endpoint = ""  # downloads through the user server: nothing to check
    assert store.bucket_cors(Context(setup)).saw == "saw_cors_not_needed"


def test_cors_for_gets_only_warns_that_uploads_go_through_the_user_server(setup, buckets):
    setup.JupyterHub.public_url = f"{HUB_ORIGIN}/"
    setup.HybridSpawner.storage_default_bucket = buckets["get_only"]
    result = store.bucket_cors(Context(setup))
    assert verdict(result) == ("store-cors", "warn", "saw_cors_no_put", "fix_store_cors")
    assert "PUT" in text("en", result.saw, **result.values) and "ETag" in text("en", result.fix)
    setup.HybridSpawner.storage_default_bucket = buckets["good"]
    assert store.bucket_cors(Context(setup)).status == "pass"


def test_cors_asks_for_the_address_the_hub_listens_on_when_no_url_names_it(setup):
    """A hub people reach directly (as the demo's): JupyterHub's bind_url, by default built from
    ip and port (jupyterhub/app.py ``_bind_url_default``); all interfaces name no origin."""
    setup.JupyterHub.pop("public_url", None)
    setup.JupyterHub.ip, setup.JupyterHub.port = "127.0.0.1", 18000
    assert store.bucket_cors(Context(setup)).values["origin"] == "http://127.0.0.1:18000"
    setup.JupyterHub.bind_url = "https://hub.lan.example:8443/jupyter/"
    assert store.bucket_cors(Context(setup)).values["origin"] == "https://hub.lan.example:8443"
    setup.JupyterHub.bind_url = "http://0.0.0.0:8000/"
    assert store.bucket_cors(Context(setup)).values["origin"] == "*"


class _NoCorsStore(BaseHTTPRequestHandler):
    """A store without per-bucket CORS whose server-wide CORS does not allow the hub: MinIO's community
    edition answers the bucket CORS API with S3's ``NotImplemented`` (501; "A header you provided
    implies functionality that is not implemented", https://docs.aws.amazon.com/AmazonS3/latest/API/
    ErrorResponses.html; minio/minio#21332: bucket CORS is for AIStor, community releases use the
    global ``api`` setting). SeaweedFS implements GetBucketCors, so this one is a double."""

    def do_GET(self):  # noqa: N802 - BaseHTTPRequestHandler's naming
        body = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>NotImplemented</Code>'
                b"<Message>A header you provided implies functionality that is not implemented</Message>"
                b"</Error>")
        self.send_response(501)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_OPTIONS = do_GET  # a preflight, too, without Access-Control-Allow-Origin

    def log_message(self, *args):
        pass


def test_cors_not_implemented_is_a_warning_that_says_so(setup):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NoCorsStore)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        setup.HybridSpawner.storage_endpoint = "http://127.0.0.1:%d" % server.server_address[1]
        result = store.bucket_cors(Context(setup))
    finally:
        server.shutdown()
        server.server_close()
    assert verdict(result) == ("store-cors", "warn", "saw_cors_not_implemented", "fix_store_cors_elsewhere")
    assert "GetBucketCors" in text("en", result.saw, **result.values)


def test_unreachable_store_fails_every_store_check(setup):
    setup.HybridSpawner.storage_endpoint = closed_port_url()
    context = Context(setup)
    started = time.monotonic()
    for check in (store.store_answers, store.store_keys_accepted, store.bucket_versioning, store.bucket_cors,
                  store.clock_agrees):
        result = check(context)
        assert (result.status, result.saw, result.fix) == ("fail", "saw_store_unreachable",
                                                           "fix_store_unreachable"), result
    assert time.monotonic() - started < 10  # refused at once: no retries


def test_a_store_that_never_answers_is_a_failure_not_a_hang(setup, monkeypatch):
    from hybridhub.hub_ext.doctor import checks_live

    monkeypatch.setattr(checks_live, "READ_TIMEOUT", 0.5)
    with socket.socket() as black_hole:  # accepts connections (the backlog) and never answers
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen(8)
        setup.HybridSpawner.storage_endpoint = "http://127.0.0.1:%d" % black_hole.getsockname()[1]
        started = time.monotonic()
        result = store.store_answers(Context(setup))
        assert time.monotonic() - started < 5
    assert (result.status, result.saw) == ("fail", "saw_store_unreachable")
    assert "timed out" in result.values["error"]


def test_store_over_tls_with_the_wrong_ca(setup, gitlab, other_ca):
    # an https endpoint whose certificate another CA signed (the stand-in's TLS listener)
    setup.HybridSpawner.storage_endpoint = gitlab.url
    setup.HybridSpawner.storage_ca_bundle = str(other_ca)
    result = store.store_answers(Context(setup))
    assert verdict(result) == ("store-answers", "fail", "saw_store_tls", "fix_store_tls")
    assert "certificate verify failed" in result.values["error"].lower()
    setup.HybridSpawner.storage_ca_bundle = str(gitlab.ca_bundle)  # the right CA: an answer
    assert store.store_answers(Context(setup)).status == "pass"


def test_clock_skew(setup):
    context = Context(setup)
    assert store.clock_agrees(context).status == "pass"
    late = store.clock_agrees(context, now=lambda: time.time() + 20 * 60)
    assert verdict(late) == ("clock", "fail", "saw_clock_skew", "fix_clock")
    assert 19 * 60 < late.values["skew"] < 21 * 60
    assert store.clock_agrees(context, now=lambda: time.time() - 3 * 60).status == "warn"


def test_gitlab_wrong_ca_wrong_url_and_down(setup, gitlab, other_ca):
    setup.HybridSpawner.gitlab_ca_bundle = str(other_ca)
    for check in (gitlab_checks.gitlab_answers, gitlab_checks.gitlab_oauth):
        assert check(Context(setup)).saw == "saw_gitlab_tls"
    # the CA path of user servers is not mounted in the hub: the hub's SSL_CERT_FILE is used
    setup.HybridSpawner.gitlab_ca_bundle = "/etc/hybridhub/corp-ca.pem"
    trusted = gitlab_checks.gitlab_answers(Context(setup, environ={"SSL_CERT_FILE": str(gitlab.ca_bundle)}))
    assert (trusted.status, trusted.values["tls"]) == ("pass", f"CA {gitlab.ca_bundle} (SSL_CERT_FILE)")
    assert gitlab_checks.gitlab_answers(Context(setup, environ={})).saw == "saw_gitlab_tls"  # public CAs
    # the hub's own GitLab login trusts its CA (found in the chart-run hub, which logs in fine)
    setup.JupyterHub.authenticator_class = "hybridhub.hub_ext.gitlab.authenticator.HybridGitLabOAuthenticator"
    setup.HybridGitLabOAuthenticator.gitlab_ca_bundle = str(gitlab.ca_bundle)
    login = gitlab_checks.gitlab_answers(Context(setup, environ={}))
    assert (login.status, login.values["tls"]) == ("pass", f"CA {gitlab.ca_bundle}")
    del setup.HybridGitLabOAuthenticator.gitlab_ca_bundle
    setup.HybridSpawner.gitlab_ca_bundle = str(gitlab.ca_bundle)
    setup.HybridSpawner.gitlab_url = f"{gitlab.url}/not-gitlab"  # the stand-in answers 404 there
    assert verdict(gitlab_checks.gitlab_answers(Context(setup))) == (
        "gitlab-answers", "fail", "saw_gitlab_no_api", "fix_gitlab_no_api")
    assert gitlab_checks.gitlab_oauth(Context(setup)).saw == "saw_gitlab_no_oauth"
    setup.HybridSpawner.gitlab_url = gitlab.url
    gitlab.offline = True  # every request dropped, as a GitLab that is down
    try:
        result = gitlab_checks.gitlab_answers(Context(setup))
    finally:
        gitlab.offline = False
    assert verdict(result) == ("gitlab-answers", "fail", "saw_gitlab_unreachable", "fix_gitlab_unreachable")
    setup.HybridSpawner.gitlab_url = closed_port_url("https")
    assert gitlab_checks.gitlab_oauth(Context(setup)).saw == "saw_gitlab_unreachable"


def test_cli_runs_the_live_checks_unless_offline(setup, tmp_path, capsys):
    from hybridhub.hub_ext.cli import main

    setup.HybridSpawner.storage_endpoint = closed_port_url()
    lines = [f"c.{section}.{name} = {value!r}" for section in ("JupyterHub", "HybridSpawner")
             for name, value in setup[section].items()]
    config_file = tmp_path / "jupyterhub_config.py"
    config_file.write_text("\n".join(lines) + "\n")
    assert main(["doctor", "--json", "--config", str(config_file)]) == 1
    checks = {item["check"]: item for item in json.loads(capsys.readouterr().out)["checks"]}
    assert checks["store-answers"]["status"] == "fail"
    assert checks["store-answers"]["fix"]["ja"] == text("ja", "fix_store_unreachable")
    assert checks["gitlab-answers"]["status"] == "pass"
    main(["doctor", "--json", "--offline", "--config", str(config_file)])
    offline = [item["check"] for item in json.loads(capsys.readouterr().out)["checks"]]
    assert offline == [name for name, _ in CHECKS]


def hub_pod(object_store, buckets, gitlab, tmp_path, extra_env: dict | None = None, **kube):
    """The chart's hub pod (tests/deploy/z2jh.py) on the AKS and site values pointed at the real
    store and the GitLab stand-in, with one user's keys in the mounted users' Secret; written."""
    from .z2jh import S3_USERS_KEY, S3_USERS_SECRET, SITE_SECRET_VALUES, VALUE_SETS, HubPod, chart_values

    c = object_store.credentials
    users = {S3_USERS_SECRET: {S3_USERS_KEY: json.dumps(
        {"alice": {"access_key": c.user_access_key, "secret_key": c.user_secret_key}})}}
    site = {"hub": {"extraEnv": dict(extra_env or {}), "config": {
        "HybridGitLabOAuthenticator": {"gitlab_url": gitlab.url,
                                       "oauth_callback_url": f"{HUB_ORIGIN}/hub/oauth_callback"},
        "HybridSpawner": {"gitlab_url": gitlab.url, "gitlab_ca_bundle": str(gitlab.ca_bundle),
                          "storage_endpoint": object_store.endpoint,
                          "storage_browser_endpoint": object_store.endpoint,
                          "storage_default_bucket": buckets["good"]}}}}
    pod = HubPod(tmp_path / "pod", chart_values(*VALUE_SETS["aks+site"], site), site_secret=SITE_SECRET_VALUES,
                 mounted_secrets=users, service_hosts={"hub": ("127.0.0.1", 8081), "proxy-api": ("127.0.0.1", 8001),
                                                       "proxy-public": ("127.0.0.1", 80)}, **kube)
    pod.write()
    return pod


def test_in_the_chart_run_hub_pod(object_store, buckets, gitlab, tmp_path):
    """``hybridhub doctor`` in the chart's hub pod (tests/deploy/z2jh.py) with the site values pointed
    at the real store and the GitLab stand-in, and the users' keys Secret mounted: all green, and
    the user's secret key appears nowhere."""
    import subprocess
    import sys

    c = object_store.credentials
    pod = hub_pod(object_store, buckets, gitlab, tmp_path, kube_api=("127.0.0.1", 443))
    argv = [sys.executable, "-m", "hybridhub.hub_ext.cli", "doctor", "--json"]
    run = subprocess.run(pod.command(argv), env=pod.environment(), capture_output=True, text=True, timeout=120)
    checks = {item["check"]: item for item in json.loads(run.stdout)["checks"]}
    assert list(checks) == [name for name, _ in CHECKS + LIVE_CHECKS]
    # the pod has the API server's address and a token but no ca.crt (HubPod writes none without a
    # cluster): the cluster checks fail on loading the in-cluster configuration and say how to fix it
    # (they pass against the kube stand-in in tests/deploy/test_doctor_cluster.py)
    for name in ("kube-access", "pools", "gpu-nodes", "images", "image-pullers"):
        assert checks[name]["status"] == "fail", checks[name]
        assert checks[name]["saw"]["en"].startswith(text("en", "saw_kube_config_error", error="ConfigException"))
        assert checks[name]["fix"]["ja"] == text("ja", "fix_kube_no_config")
    assert checks["runners"]["status"] == "warn" and checks["runners"]["fix"]["en"] == text("en", "fix_runners_no_token")
    others = {name: item["status"] for name, item in checks.items() if name not in CLUSTER_CHECKS}
    assert others == {name: "pass" for name in others}, checks
    assert run.returncode == 1 and c.user_secret_key not in run.stderr, run.stderr[-2000:]
    assert checks["store-keys-accepted"]["saw"]["en"] == f"user alice's keys are accepted by {object_store.endpoint}"
    assert c.user_secret_key not in run.stdout + run.stderr


def test_all_green_in_the_chart_run_hub_pod_with_a_cluster(object_store, buckets, gitlab, tmp_path):
    """The whole doctor in the chart's hub pod on the fixed values, every system there: the store,
    GitLab with the template's runners (an admin token given), the kube stand-in over HTTPS as the
    pod's API server (its service account token and CA mounted, namespace jhub, a node in every
    pool of the catalog), and the site registry as a registry stand-in holding the profiles' images
    behind the values' pull Secret. Every check passes; no secret in the output."""
    import subprocess
    import sys

    from hybridhub.spawner.profiles import ProfileCatalog
    from tests.gitlab_standin import api as gitlab_api
    from tests.registry_standin import RegistryStandIn

    from .chart_cluster import cluster_description
    from .doctor_standins import Cluster, pull_secret
    from .image_puller import gpu_image_puller

    c = object_store.credentials
    admin_token, registry_password = secrets.token_hex(16), secrets.token_hex(16)
    description = cluster_description(ProfileCatalog(), [])
    for pool in description["pools"]:
        pool["count"] = 1  # a node up in every pool: labels, taints and GPUs can be seen
        pool["scale_down_unneeded_seconds"] = 3600  # and kept while the doctor looks
    cluster = Cluster(description, tmp_path / "kube", tls=True)
    routes, runners = gitlab.routes, []
    try:
        cluster.api("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                   "metadata": {"name": "jhub"}})
        admin = gitlab.world.add_user("doctor-admin")
        gitlab.world.admins.add(admin.id)
        gitlab.world.tokens[admin_token] = gitlab.world.issue(admin, ["read_api"])
        gitlab.routes = routes + gitlab_api.RUNNER_ROUTES
        runners += [gitlab.world.add_runner(f"runner-{tag}", [tag]) for tag in ("train", "test", "build", "deploy")]
        with RegistryStandIn(tmp_path / "registry") as registry:
            registry.accounts["deploy-token"] = registry_password
            registry_host = registry.host
            for name in ("singleuser-cpu", "singleuser-gpu"):
                registry.push(f"mlops/hybridhub/{name}", "0.1.0", readers={"deploy-token"})
            pull_secret(cluster, registry.host, "deploy-token", registry_password, name="gitlab-registry",
                        namespace="jhub")
            # step 5's GPU image puller, its image named with the site's registry and tag (the guide's sed)
            puller = gpu_image_puller("jhub")
            puller["spec"]["template"]["spec"]["initContainers"][0]["image"] = (
                f"{registry.host}/mlops/hybridhub/singleuser-gpu:0.1.0")
            cluster.api("POST", "/apis/apps/v1/namespaces/jhub/daemonsets", puller)
            host, port = cluster.standin.url.removeprefix("https://").split(":")
            pod = hub_pod(object_store, buckets, gitlab, tmp_path, {
                "HYBRIDHUB_IMAGE_REGISTRY": f"{registry.host}/mlops/hybridhub", "SSL_CERT_FILE": str(registry.ca_bundle)},
                kube_api=(host, int(port)), kube_ca=cluster.ca, kube_token=cluster.standin.token)
            argv = [sys.executable, "-m", "hybridhub.hub_ext.cli", "doctor", "--json"]
            env = {**pod.environment(), "HYBRIDHUB_DOCTOR_GITLAB_TOKEN": admin_token}
            run = subprocess.run(pod.command(argv), env=env, capture_output=True, text=True, timeout=120)
    finally:
        gitlab.routes = routes
        gitlab.world.runners[:] = [r for r in gitlab.world.runners if r not in runners]
        cluster.stop()
    checks = {item["check"]: item for item in json.loads(run.stdout)["checks"]}
    assert list(checks) == [name for name, _ in CHECKS + LIVE_CHECKS]
    assert {name: item["status"] for name, item in checks.items()} == {name: "pass" for name in checks}, {
        name: item["saw"]["en"] for name, item in checks.items() if item["status"] != "pass"}
    assert run.returncode == 0, run.stderr[-2000:]
    assert checks["kube-access"]["saw"]["en"].endswith("(in-cluster service account)")
    assert f"{registry_host}/mlops/hybridhub/singleuser-gpu:0.1.0 (gitlab-registry)" in checks["images"]["saw"]["en"]
    for secret in (c.user_secret_key, admin_token, registry_password, cluster.standin.token):
        assert secret not in run.stdout + run.stderr
