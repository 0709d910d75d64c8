"""The doctor's cluster and runner checks against the stand-ins: the Kubernetes API stand-in
(tests/kube_standin, an AKS-like cluster; run on its own event loop in a thread, as a separate
API server is to the doctor), the registry stand-in (tests/registry_standin.py, HTTPS) and the
GitLab stand-in's Runners API (tests/gitlab_standin). Each check passes on a good setup and fails
(or warns) on purpose: no kube config, a refused token, an unreachable API server; a pool that does
not exist, nodes without the required label, an untolerated taint, a pool scaled to zero; GPU nodes
without GPUs; a missing pull Secret, wrong registry credentials, an account without access, a
missing tag, an untrusted CA; no runner token, a missing or paused runner, a non-admin token.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from traitlets.config import Config

from hybridhub.hub_ext.doctor import checks_images, checks_kube, checks_pools, checks_pullers, checks_runners, kube
from hybridhub.hub_ext.doctor.check import Context
from hybridhub.hub_ext.doctor.i18n import EN, JA, text
from hybridhub.hub_ext.doctor.report import render_json
from hybridhub.hub_ext.doctor.run import LIVE_CHECKS, run_checks
from tests.gitlab_standin import GitLabStandIn
from tests.gitlab_standin import api as gitlab_api
from tests.gitlab_standin.tls import make_ca_and_server_cert
from tests.kube_standin.authz import Account, Rule
from tests.registry_standin import RegistryStandIn

from .doctor_standins import PURPOSE, Cluster, pools
from .doctor_standins import pull_secret as create_pull_secret
from .image_puller import gpu_image_puller
from .shipped_rbac import shipped_rules

pytestmark = pytest.mark.deploy

REG_USER, REG_PASSWORD = "deploy-token", "s3cret-registry-password"  # the password must never be shown
GITLAB_ADMIN_TOKEN = "admin-token-never-shown"


@pytest.fixture(autouse=True)
def no_service_account(tmp_path, monkeypatch):
    """Outside a pod: the doctor must find no service account here (whatever this machine has)."""
    monkeypatch.setattr(kube, "SERVICE_ACCOUNT", str(tmp_path / "no-service-account"))


@pytest.fixture
def make_cluster(tmp_path):
    made = []

    def make(description=None, **kwargs) -> Cluster:
        cluster = Cluster(description or pools(), tmp_path / f"kube-{len(made)}", **kwargs)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.stop()


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    with RegistryStandIn(tmp_path_factory.mktemp("registry")) as standin:
        standin.accounts[REG_USER] = REG_PASSWORD
        standin.accounts["outsider"] = "outsider-password"
        for name in ("team/cpu", "team/gpu"):
            standin.push(name, "1", readers={REG_USER})
        yield standin


@pytest.fixture(scope="module")
def gitlab(tmp_path_factory):
    with GitLabStandIn(tmp_path_factory.mktemp("gitlab"), tls=True) as standin:
        standin.routes = standin.routes + gitlab_api.RUNNER_ROUTES
        admin, developer = standin.world.add_user("root"), standin.world.add_user("dev")
        standin.world.admins.add(admin.id)
        standin.world.tokens[GITLAB_ADMIN_TOKEN] = standin.world.issue(admin, ["read_api"])
        standin.developer_token = standin.world.issue(developer, ["read_api"]).value
        # the template's four runners: the cloud one (train) and the on-prem ones (helm-values/)
        for tag in ("train", "test", "build", "deploy"):
            standin.world.add_runner(f"runner-{tag}", [tag, "extra"])
        yield standin


def hub_config(registry: RegistryStandIn, gitlab: GitLabStandIn | None = None) -> Config:
    """The hub's config as the chart gives it: HybridKubeSpawner, the user-pod affinity of
    ``matchNodePurpose: require`` (z2jh), one pull Secret, the cost service; a catalog of a CPU and
    a tainted GPU pool whose images are in the registry stand-in."""
    config = Config()
    config.JupyterHub.spawner_class = "hybridhub.spawner.kube.HybridKubeSpawner"
    config.JupyterHub.services = [{"name": "hybridhub-cost", "command": ["python", "-m", "hybridhub.hub_ext.cost"]}]
    config.KubeSpawner.node_affinity_required = [
        {"matchExpressions": [{"key": PURPOSE, "operator": "In", "values": ["user"]}]}]
    config.KubeSpawner.image_pull_secrets = ["regcred"]
    config.ProfileCatalog.pools = [
        {"name": "cpu", "vm_size": "Standard_B2s", "vm_price_per_hour": 11.52},
        {"name": "gpu", "vm_size": "Standard_NV6ads_A10_v5", "vm_price_per_hour": 74.7, "gpus_per_node": 1,
         "taints": ["sku=gpu:NoSchedule"]}]
    common = {"cpu_request": 0.5, "cpu_limit": 1, "memory_request": "1G", "memory_limit": "2G",
              "idle_timeout_seconds": 600, "max_age_seconds": 3600}
    config.ProfileCatalog.profiles = [
        {"slug": "cpu", "display_name": {"en": "CPU"}, "pool": "cpu", "image": f"{registry.host}/team/cpu:1",
         **common},
        {"slug": "gpu", "display_name": {"en": "GPU"}, "pool": "gpu", "image": f"{registry.host}/team/gpu:1",
         "gpus": 1, **common}]
    if gitlab is not None:
        config.HybridSpawner.gitlab_url = gitlab.url
        config.HybridSpawner.gitlab_ca_bundle = str(gitlab.ca_bundle)
    return config


def pull_secret(cluster: Cluster, registry: RegistryStandIn, password: str = REG_PASSWORD, user: str = REG_USER):
    create_pull_secret(cluster, registry.host, user, password)


def context(config: Config, cluster: Cluster | None = None, registry: RegistryStandIn | None = None, **env) -> Context:
    environ = {"KUBECONFIG": cluster.standin.kubeconfig} if cluster else {}
    if registry is not None:
        environ["SSL_CERT_FILE"] = str(registry.ca_bundle)
    return Context(config, environ={**environ, **env})


def verdict(result) -> tuple:
    return result.check, result.status, result.saw, result.fix


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- kube-access ---------------------------------------------------------------------------------
def test_kube_access_passes_with_every_read_the_spawner_and_cost_service_use(make_cluster, registry):
    cluster = make_cluster()
    result = checks_kube.kube_access(context(hub_config(registry), cluster))
    assert verdict(result) == ("kube-access", "pass", "saw_kube_access_ok", None), result
    table = checks_kube.access_table(context(hub_config(registry), cluster))
    asked = [(a.resource, a.namespace, v) for a in table for v in a.verbs]
    reads = [(r, ns, v) for r, ns, v in asked if v in checks_kube.READS]
    # the cost service's list-watches (nodes, pods, events of default and kube-system) are in it
    assert ("nodes", "", "watch") in reads and ("events", "kube-system", "list") in reads
    assert ("pods", "default", "delete") in asked
    assert result.values == {"where": f"kubeconfig {cluster.standin.kubeconfig}", "reviewed": len(asked),
                             "tried": len(reads)}


# the hub's Role of the zero-to-jupyterhub chart (jupyterhub/templates/hub/rbac.yaml: pods,
# persistentvolumeclaims, secrets, services: get, watch, list, create, delete; events: get, watch,
# list) in the hub's namespace, and helm-values/cost-node-reader.yaml (nodes cluster-wide; events
# in default and kube-system)
CHART_ROLE = Rule(("get", "watch", "list", "create", "delete"),
                  ("pods", "persistentvolumeclaims", "secrets", "services"), namespaces=("default",))
CHART_EVENTS = Rule(("get", "watch", "list"), ("events",), namespaces=("default",))
NODE_READER = [Rule(("get", "list", "watch"), ("nodes",)),
               Rule(("get", "list", "watch"), ("events",), namespaces=("default", "kube-system"))]
HUB_ACCOUNT = "system:serviceaccount:default:hub"


def account_kubeconfig(cluster: Cluster, folder: Path, rules: list) -> str:
    """A kubeconfig whose token is a service account with ``rules`` (tests/kube_standin/authz.py)."""
    token = f"hub-{len(cluster.standin.accounts)}"
    cluster.standin.accounts[token] = Account(HUB_ACCOUNT, list(rules))
    path = folder / f"{token}.yaml"
    path.write_text(Path(cluster.standin.kubeconfig).read_text().replace(cluster.standin.token, token))
    return str(path)


def test_kube_access_passes_with_the_charts_rbac(make_cluster, registry, tmp_path):
    cluster = make_cluster()
    kubeconfig = account_kubeconfig(cluster, tmp_path, [CHART_ROLE, CHART_EVENTS, *NODE_READER])
    result = checks_kube.kube_access(context(hub_config(registry), KUBECONFIG=kubeconfig))
    assert verdict(result) == ("kube-access", "pass", "saw_kube_access_ok", None), result


def test_without_the_node_reader_the_cost_service_is_forbidden(make_cluster, registry, tmp_path):
    cluster = make_cluster()
    kubeconfig = account_kubeconfig(cluster, tmp_path, [CHART_ROLE, CHART_EVENTS])
    result = checks_kube.kube_access(context(hub_config(registry), KUBECONFIG=kubeconfig))
    assert verdict(result) == ("kube-access", "fail", "saw_kube_forbidden", "fix_kube_forbidden"), result
    assert result.values == {"who": "service hybridhub-cost",
                             "denied": "list nodes; watch nodes; list events in kube-system; watch events in kube-system"}
    assert "cost-node-reader.yaml" in text("en", result.fix) and "cost-node-reader.yaml" in text("ja", result.fix)


def test_a_write_the_spawner_needs_is_caught_by_the_access_review(make_cluster, registry, tmp_path):
    """No pod deletion: users' servers would never stop. Only the review can tell (no dry-run write)."""
    cluster = make_cluster()
    no_delete = Rule(("get", "watch", "list", "create"), CHART_ROLE.resources, namespaces=("default",))
    kubeconfig = account_kubeconfig(cluster, tmp_path, [no_delete, CHART_EVENTS, *NODE_READER])
    result = checks_kube.kube_access(context(hub_config(registry), KUBECONFIG=kubeconfig))
    assert verdict(result) == ("kube-access", "fail", "saw_kube_forbidden", "fix_kube_forbidden"), result
    assert result.values == {"who": "hub (KubeSpawner)", "denied": "delete pods in default; delete "
                             "persistentvolumeclaims in default; delete secrets in default; delete services in default"}


def test_without_the_access_review_the_reads_are_still_tried(make_cluster, registry, tmp_path):
    """An API server (or a proxy in front of it) that does not serve authorization.k8s.io: the
    stand-in's route for it taken away."""
    cluster = make_cluster()
    rules = cluster.standin.server.request_callback.wildcard_router.rules
    rules[:] = [r for r in rules if "selfsubjectaccessreviews" not in r.matcher.regex.pattern]
    ctx = context(hub_config(registry), KUBECONFIG=account_kubeconfig(cluster, tmp_path, [
        CHART_ROLE, CHART_EVENTS, *NODE_READER]))
    result = checks_kube.kube_access(ctx)
    assert verdict(result) == ("kube-access", "pass", "saw_kube_access_reads_only", None), result
    assert result.values["writes"] == 8 and result.values["tried"] == 13
    no_event_watch = Rule(("get", "list"), ("events",), namespaces=("default",))
    ctx = context(hub_config(registry), KUBECONFIG=account_kubeconfig(cluster, tmp_path, [
        CHART_ROLE, no_event_watch, *NODE_READER[:1]]))
    result = checks_kube.kube_access(ctx)
    assert verdict(result) == ("kube-access", "fail", "saw_kube_forbidden", "fix_kube_forbidden"), result
    assert result.values == {"who": "hub (KubeSpawner), service hybridhub-cost", "denied": (
        "watch events in default; list events in kube-system; watch events in kube-system")}


def test_reads_the_other_cluster_checks_need_when_forbidden(make_cluster, registry, tmp_path):
    """Without the node reader the pools cannot be seen; without Secrets get, the pull Secrets."""
    cluster = make_cluster()
    pull_secret(cluster, registry)
    no_nodes = context(hub_config(registry), registry=registry,
                       KUBECONFIG=account_kubeconfig(cluster, tmp_path, [CHART_ROLE, CHART_EVENTS]))
    for check in (checks_pools.pools, checks_pools.gpu_nodes):
        assert verdict(check(no_nodes))[1:] == ("fail", "saw_kube_check_forbidden", "fix_kube_check_forbidden")
    no_secrets = Rule(("list", "watch"), ("pods",), namespaces=("default",))
    ctx = context(hub_config(registry), registry=registry,
                  KUBECONFIG=account_kubeconfig(cluster, tmp_path, [no_secrets, *NODE_READER]))
    assert verdict(checks_images.images(ctx)) == ("images", "fail", "saw_kube_check_forbidden",
                                                  "fix_kube_check_forbidden")
    assert checks_pools.pools(ctx).status == "pass"  # the autoscaler's status unreadable: no harm with nodes up


def test_the_standins_authorization_answers_as_the_api_server(make_cluster, tmp_path):
    """403 Forbidden Status for a request the account's rules do not allow; SelfSubjectAccessReview
    201 with status.allowed; a review without attributes 422 (tests/kube_standin/authz.py cites the sources)."""
    cluster = make_cluster()
    cluster.standin.accounts["limited"] = Account(HUB_ACCOUNT, [CHART_EVENTS])

    def ask(method, path, body=None):
        request = urllib.request.Request(cluster.standin.url + path, method=method,
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Authorization": "Bearer limited", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    status, body = ask("GET", "/api/v1/nodes")
    assert status == 403 and body["reason"] == "Forbidden" and body["details"] == {"kind": "nodes"}
    assert body["message"] == ('nodes is forbidden: User "system:serviceaccount:default:hub" cannot list resource '
                               '"nodes" in API group "" at the cluster scope')
    status, body = ask("GET", "/api/v1/namespaces/kube-system/events/x")
    assert status == 403 and body["message"].startswith('events "x" is forbidden: User ')
    assert body["message"].endswith('cannot get resource "events" in API group "" in the namespace "kube-system"')
    assert ask("GET", "/api/v1/namespaces/default/events?limit=1")[0] == 200
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
              "spec": {"resourceAttributes": {"verb": "watch", "resource": "events", "namespace": "default"}}}
    status, body = ask("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review)
    assert status == 201 and body["status"] == {"allowed": True}
    review["spec"]["resourceAttributes"]["verb"] = "delete"
    assert ask("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review)[1]["status"] == {
        "allowed": False}
    status, body = ask("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {**review, "spec": {}})
    assert status == 422 and body["reason"] == "Invalid"
    assert ask("GET", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")[0] == 405


def test_the_cost_services_kubeconfig_setting_is_used_as_it_uses_it(make_cluster, registry, tmp_path):
    """``--kubeconfig`` on the cost service's command line (CostService.kube_config_file, as the
    local demo gives it) comes first, as in the service (hub_ext/cost/service.py ``kube_api``)."""
    cluster = make_cluster()
    config = hub_config(registry)
    config.JupyterHub.services = [{"name": "hybridhub-cost", "command": [
        "python", "-m", "hybridhub.hub_ext.cost", f"--kubeconfig={cluster.standin.kubeconfig}"]}]
    result = checks_kube.kube_access(context(config, HOME=str(tmp_path)))
    assert verdict(result) == ("kube-access", "pass", "saw_kube_access_ok", None), result
    assert result.values["where"] == f"kubeconfig {cluster.standin.kubeconfig}"
    config.JupyterHub.services[0]["command"][-1] = f"--kubeconfig={tmp_path / 'gone.yaml'}"
    result = checks_kube.kube_access(context(config, KUBECONFIG=cluster.standin.kubeconfig))
    assert verdict(result) == ("kube-access", "fail", "saw_kube_config_missing", "fix_kube_config_missing"), result
    assert result.values == {"path": str(tmp_path / "gone.yaml")}


def test_kube_access_without_any_kube_config_fails_with_the_fix(registry, tmp_path):
    result = checks_kube.kube_access(context(hub_config(registry), HOME=str(tmp_path)))
    assert verdict(result) == ("kube-access", "fail", "saw_kube_no_config", "fix_kube_no_config")
    assert "kubectl exec deploy/hub" in text("en", result.fix) and "KUBECONFIG" in text("ja", result.fix)


def test_kube_access_with_a_refused_token_fails(make_cluster, registry, tmp_path):
    cluster = make_cluster()
    config_file = tmp_path / "wrong-token.yaml"
    config_file.write_text(Path(cluster.standin.kubeconfig).read_text().replace(cluster.standin.token, "wrong"))
    result = checks_kube.kube_access(context(hub_config(registry), KUBECONFIG=str(config_file)))
    assert verdict(result) == ("kube-access", "fail", "saw_kube_unauthorized", "fix_kube_unauthorized")


def test_kube_access_to_an_api_server_that_is_down_fails_quickly(make_cluster, registry, tmp_path):
    cluster = make_cluster()
    config_file = tmp_path / "down.yaml"
    config_file.write_text(Path(cluster.standin.kubeconfig).read_text().replace(
        cluster.standin.url, f"http://127.0.0.1:{closed_port()}"))
    started = time.monotonic()
    result = checks_kube.kube_access(context(hub_config(registry), KUBECONFIG=str(config_file)))
    assert verdict(result) == ("kube-access", "fail", "saw_kube_unreachable", "fix_kube_unreachable")
    assert time.monotonic() - started < 10


def test_in_cluster_the_service_account_is_used(make_cluster, registry, tmp_path, monkeypatch):
    """In a pod: KUBERNETES_SERVICE_HOST/PORT, the mounted token and CA, as the cost service loads
    them (kubernetes_asyncio's in-cluster loader, HTTPS only)."""
    cluster = make_cluster(tls=True)
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(cluster.standin.token)
    (account / "ca.crt").write_bytes(Path(cluster.ca).read_bytes())
    (account / "namespace").write_text("jhub")
    monkeypatch.setattr(kube, "SERVICE_ACCOUNT", str(account))
    cluster.api("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "jhub"}})
    host, port = cluster.standin.url.removeprefix("https://").split(":")
    ctx = context(hub_config(registry), KUBERNETES_SERVICE_HOST=host, KUBERNETES_SERVICE_PORT=port)
    assert kube.namespace(ctx) == "jhub"
    result = checks_kube.kube_access(ctx)
    assert verdict(result) == ("kube-access", "pass", "saw_kube_access_ok", None), result
    assert result.values["where"] == "in-cluster service account"
    (account / "ca.crt").write_bytes(Path(make_ca_and_server_cert(tmp_path / "other")[0]).read_bytes())
    result = checks_kube.kube_access(ctx)
    assert verdict(result) == ("kube-access", "fail", "saw_kube_tls", "fix_kube_tls"), result


def test_a_hub_that_does_not_spawn_on_kubernetes_has_no_cluster_to_check(registry):
    """The local demo's spawner: the cluster checks pass with "not checked", without a kube config."""
    config = hub_config(registry)
    config.JupyterHub.spawner_class = "hybridhub.spawner.local.HybridLocalSpawner"
    for check in (checks_kube.kube_access, checks_pools.pools, checks_pools.gpu_nodes, checks_images.images):
        result = check(context(config))
        assert (result.status, result.saw, result.fix) == ("pass", "saw_kube_not_used", None), result
        assert result.values == {"cls": "hybridhub.spawner.local.HybridLocalSpawner"}


# -- pools -----------------------------------------------------------------------------------------
def test_pools_pass_when_every_profile_has_a_node_it_tolerates(make_cluster, registry):
    result = checks_pools.pools(context(hub_config(registry), make_cluster()))
    assert verdict(result) == ("pools", "pass", "saw_pools_ok", None), result
    assert result.values["profiles"] == "cpu: 1, gpu: 1"


def test_a_pool_scaled_to_zero_that_the_autoscaler_knows_is_a_warning(make_cluster, registry):
    cluster = make_cluster(pools(gpu_count=0))
    cluster.run_a_loop()
    result = checks_pools.pools(context(hub_config(registry), cluster))
    assert verdict(result) == ("pools", "warn", "saw_pool_zero_known", "fix_pool_zero_known"), result
    assert result.values["profiles"].startswith("gpu (aks-gpu-") and result.values["profiles"].endswith("-vmss)")


def test_a_pool_scaled_to_zero_before_the_autoscaler_reported_is_unknown(make_cluster, registry):
    cluster = make_cluster(pools(gpu_count=0))
    assert "Initializing" in cluster.autoscaler_status()
    result = checks_pools.pools(context(hub_config(registry), cluster))
    assert verdict(result) == ("pools", "warn", "saw_pool_zero_unknown", "fix_pool_zero_unknown"), result


def test_a_pool_the_cluster_does_not_have_fails(make_cluster, registry):
    cluster = make_cluster()
    cluster.run_a_loop()
    config = hub_config(registry)
    config.ProfileCatalog.pools = [*config.ProfileCatalog.pools, {"name": "tpu", "vm_size": "X", "vm_price_per_hour": 1}]
    config.ProfileCatalog.profiles = [*config.ProfileCatalog.profiles, {**config.ProfileCatalog.profiles[0],
                                                                         "slug": "tpu", "pool": "tpu"}]
    result = checks_pools.pools(context(config, cluster))
    assert verdict(result) == ("pools", "fail", "saw_pool_missing", "fix_pool_missing"), result
    assert result.values["profiles"] == "tpu (pool tpu)"


def test_nodes_without_the_required_label_fail(make_cluster, registry):
    """The chart's matchNodePurpose: require needs hub.jupyter.org/node-purpose=user on user nodes."""
    result = checks_pools.pools(context(hub_config(registry), make_cluster(pools(cpu_labels={}))))
    assert verdict(result) == ("pools", "fail", "saw_pool_labels", "fix_pool_labels"), result
    assert result.values["profiles"] == f"cpu (agentpool=cpu; {PURPOSE} In user)"


def test_a_taint_the_profile_does_not_tolerate_fails(make_cluster, registry):
    result = checks_pools.pools(context(hub_config(registry), make_cluster(
        pools(gpu_taints=("sku=gpu:NoSchedule", "team=ml:NoExecute")))))
    assert verdict(result) == ("pools", "fail", "saw_pool_taints", "fix_pool_taints"), result
    assert result.values["profiles"] == "gpu (team=ml:NoExecute)"


def test_a_node_the_autoscaler_is_removing_counts_as_none(make_cluster, registry):
    """An empty GPU node is tainted ToBeDeletedByClusterAutoscaler and goes (scale-down, the
    stand-in's scaledown.py): not a taint to tolerate, the pool is scaling to zero."""
    description = pools()
    description["pools"][2].update(scale_down_unneeded_seconds=0.5, deletion_seconds=3600)
    cluster = make_cluster(description)
    deadline = time.monotonic() + 10
    while not [n for n in cluster.api("GET", "/api/v1/nodes")["items"]
               if any(t["key"] == "ToBeDeletedByClusterAutoscaler" for t in n["spec"].get("taints") or [])]:
        assert time.monotonic() < deadline, "the empty GPU node was never tainted"
        time.sleep(0.1)
    cluster.run_a_loop()
    ctx = context(hub_config(registry), cluster)
    assert verdict(checks_pools.pools(ctx)) == ("pools", "warn", "saw_pool_zero_known", "fix_pool_zero_known")
    assert verdict(checks_pools.gpu_nodes(ctx)) == ("gpu-nodes", "warn", "saw_gpu_no_node", "fix_gpu_no_node")


def test_a_prefer_no_schedule_taint_does_not_keep_pods_off(make_cluster, registry):
    result = checks_pools.pools(context(hub_config(registry), make_cluster(
        pools(gpu_taints=("sku=gpu:NoSchedule", "team=ml:PreferNoSchedule")))))
    assert result.status == "pass", result


# -- gpu-nodes -------------------------------------------------------------------------------------
def test_gpu_nodes_pass_when_they_advertise_the_gpu(make_cluster, registry):
    result = checks_pools.gpu_nodes(context(hub_config(registry), make_cluster()))
    assert verdict(result) == ("gpu-nodes", "pass", "saw_gpu_ok", None), result
    assert result.values["profiles"] == "gpu: 1"


def test_a_gpu_node_without_the_gpu_resource_fails(make_cluster, registry):
    """No NVIDIA device plugin: the node's allocatable has no nvidia.com/gpu."""
    cluster = make_cluster(pools(gpu_capacity={"cpu": "6", "memory": "55Gi"}))
    result = checks_pools.gpu_nodes(context(hub_config(registry), cluster))
    assert verdict(result) == ("gpu-nodes", "fail", "saw_gpu_not_advertised", "fix_gpu_not_advertised"), result
    assert result.values["profiles"].startswith("gpu (aks-gpu-")


def test_no_gpu_node_now_is_a_warning(make_cluster, registry):
    result = checks_pools.gpu_nodes(context(hub_config(registry), make_cluster(pools(gpu_count=0))))
    assert verdict(result) == ("gpu-nodes", "warn", "saw_gpu_no_node", "fix_gpu_no_node"), result


# -- images ----------------------------------------------------------------------------------------
def test_images_pass_with_the_pull_secrets_credentials(make_cluster, registry):
    cluster = make_cluster()
    pull_secret(cluster, registry)
    result = checks_images.images(context(hub_config(registry), cluster, registry))
    assert verdict(result) == ("images", "pass", "saw_images_ok", None), result
    assert result.values["images"] == f"{registry.host}/team/cpu:1 (regcred), {registry.host}/team/gpu:1 (regcred)"
    assert "HEAD /v2/team/gpu/manifests/1" in registry.log and not registry.violations


def test_a_missing_pull_secret_fails(make_cluster, registry):
    result = checks_images.images(context(hub_config(registry), make_cluster(), registry))
    assert verdict(result) == ("images", "fail", "saw_image_secret_missing", "fix_image_secret_missing"), result
    assert result.values == {"secret": "regcred", "namespace": "default"}


def test_wrong_registry_credentials_fail_and_are_never_shown(make_cluster, registry):
    cluster = make_cluster()
    pull_secret(cluster, registry, password="an-old-password")
    results = [checks_images.images(context(hub_config(registry), cluster, registry))]
    assert verdict(results[0]) == ("images", "fail", "saw_image_token", "fix_image_credentials"), results
    assert results[0].values["status"] == 401
    assert "an-old-password" not in render_json(results, "x") and REG_PASSWORD not in render_json(results, "x")


def test_an_account_without_access_to_the_repository_fails(make_cluster, registry):
    cluster = make_cluster()
    pull_secret(cluster, registry, user="outsider", password="outsider-password")
    result = checks_images.images(context(hub_config(registry), cluster, registry))
    assert verdict(result) == ("images", "fail", "saw_image_denied", "fix_image_credentials"), result


def test_a_tag_the_registry_does_not_have_fails(make_cluster, registry):
    cluster = make_cluster()
    pull_secret(cluster, registry)
    config = hub_config(registry)
    config.ProfileCatalog.profiles = [{**p, "image": p["image"].replace(":1", ":2")} for p in
                                      config.ProfileCatalog.profiles]
    result = checks_images.images(context(config, cluster, registry))
    assert verdict(result) == ("images", "fail", "saw_image_missing", "fix_image_missing"), result
    assert result.values["image"] == f"{registry.host}/team/cpu:2"


def test_a_registry_with_an_untrusted_certificate_fails(make_cluster, registry):
    cluster = make_cluster()
    pull_secret(cluster, registry)
    result = checks_images.images(context(hub_config(registry), cluster))  # no SSL_CERT_FILE: public CAs
    assert verdict(result) == ("images", "fail", "saw_registry_tls", "fix_registry_tls"), result


def test_a_registry_that_does_not_answer_fails(make_cluster, registry):
    cluster = make_cluster()
    config = hub_config(registry)
    config.KubeSpawner.image_pull_secrets = []
    config.ProfileCatalog.profiles = [{**p, "image": f"127.0.0.1:{closed_port()}/team/cpu:1"}
                                      for p in config.ProfileCatalog.profiles]
    result = checks_images.images(context(config, cluster, registry))
    assert verdict(result) == ("images", "fail", "saw_registry_unreachable", "fix_registry_unreachable"), result


def test_a_registry_that_never_answers_fails_within_the_timeouts(make_cluster, registry):
    """A port that accepts connections and never says a word (the TLS handshake waits): the read
    timeout ends it, and the verdict names the registry, not the Kubernetes API."""
    cluster = make_cluster()
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        config = hub_config(registry)
        config.KubeSpawner.image_pull_secrets = []
        host = f"127.0.0.1:{silent.getsockname()[1]}"
        config.ProfileCatalog.profiles = [{**p, "image": f"{host}/team/cpu:1"} for p in config.ProfileCatalog.profiles]
        started = time.monotonic()
        result = checks_images.images(context(config, cluster, registry))
    finally:
        silent.close()
    assert verdict(result) == ("images", "fail", "saw_registry_unreachable", "fix_registry_unreachable"), result
    assert result.values["url"] == f"https://{host}/v2/" and time.monotonic() - started < 15


# -- runners ---------------------------------------------------------------------------------------
def test_the_templates_jobs_name_their_runner_tags():
    tags = checks_runners.template_tag_sets(checks_runners.template_file().read_text())
    assert set(tags) >= {"train", "test"}
    assert all(t and not any("$" in tag for tag in t) for t in tags.values()), tags


def test_runners_without_a_token_are_not_checked(registry, gitlab):
    result = checks_runners.runners(context(hub_config(registry, gitlab)))
    assert verdict(result) == ("runners", "warn", "saw_runners_no_token", "fix_runners_no_token")
    assert "HYBRIDHUB_DOCTOR_GITLAB_TOKEN" in text("ja", result.fix)


def test_runners_pass_when_each_job_has_an_online_runner(registry, gitlab):
    before = len(gitlab.log)
    result = checks_runners.runners(context(hub_config(registry, gitlab),
                                            HYBRIDHUB_DOCTOR_GITLAB_TOKEN=GITLAB_ADMIN_TOKEN))
    assert verdict(result) == ("runners", "pass", "saw_runners_ok", None), result
    asked = [line for line in gitlab.log[before:] if "/api/v4/runners/all?" in line]
    assert len(asked) == 4 and any("tag_list=train&status=online&paused=false" in line for line in asked), asked
    assert not gitlab.violations


def test_a_paused_or_offline_runner_does_not_count(registry, gitlab):
    deploy = next(r for r in gitlab.world.runners if r.description == "runner-deploy")
    build = next(r for r in gitlab.world.runners if r.description == "runner-build")
    try:
        deploy.paused, build.online = True, False
        results = [checks_runners.runners(context(hub_config(registry, gitlab),
                                                  HYBRIDHUB_DOCTOR_GITLAB_TOKEN=GITLAB_ADMIN_TOKEN))]
    finally:
        deploy.paused, build.online = False, True
    assert verdict(results[0]) == ("runners", "fail", "saw_runners_missing", "fix_runners_missing"), results
    assert results[0].values["missing"] == "build; deploy"
    assert GITLAB_ADMIN_TOKEN not in render_json(results, "x")


def test_a_non_admin_token_sees_only_its_own_runners_a_warning(registry, gitlab):
    result = checks_runners.runners(context(hub_config(registry, gitlab),
                                            HYBRIDHUB_DOCTOR_GITLAB_TOKEN=gitlab.developer_token))
    assert verdict(result) == ("runners", "warn", "saw_runners_not_owned", "fix_runners_admin_token"), result


def test_a_refused_token_fails(registry, gitlab):
    result = checks_runners.runners(context(hub_config(registry, gitlab), HYBRIDHUB_DOCTOR_GITLAB_TOKEN="nope"))
    assert verdict(result) == ("runners", "fail", "saw_runners_token_refused", "fix_runners_no_token"), result


# -- image-pullers --------------------------------------------------------------------------------------
def shipped_gpu_puller(registry: RegistryStandIn, image: str | None = None, pools=("gpu",)) -> dict:
    """helm-values/gpu-image-puller.yaml as a site applies it: its image replaced (the guide's sed) and,
    for this test catalog, its pool list naming the catalog's GPU pool."""
    daemonset = gpu_image_puller("default")
    spec = daemonset["spec"]["template"]["spec"]
    spec["initContainers"][0]["image"] = image or f"{registry.host}/team/gpu:1"
    term = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
    term["matchExpressions"][0]["values"] = list(pools)
    spec.pop("imagePullSecrets")
    return daemonset


def create_daemonset(cluster: Cluster, daemonset: dict) -> None:
    cluster.api("POST", "/apis/apps/v1/namespaces/default/daemonsets", daemonset)


def test_image_pullers_pass_with_the_shipped_gpu_puller(make_cluster, registry):
    cluster = make_cluster(pools(gpu_count=0))  # a pool at zero: judged by the labels the hub's pods require
    create_daemonset(cluster, shipped_gpu_puller(registry))
    result = checks_pullers.image_pullers(context(hub_config(registry), cluster))
    assert verdict(result) == ("image-pullers", "pass", "saw_pullers_ok", None), result
    assert result.values == {"images": f"{registry.host}/team/gpu:1 → gpu (gpu-image-puller)"}


def test_without_a_gpu_puller_the_warm_node_pulls_when_its_user_comes_a_warning(make_cluster, registry):
    cluster = make_cluster()
    result = checks_pullers.image_pullers(context(hub_config(registry), cluster))
    assert verdict(result) == ("image-pullers", "warn", "saw_pullers_missing", "fix_pullers_missing"), result
    assert result.values == {"images": f"{registry.host}/team/gpu:1 → gpu", "namespace": "default"}
    assert "gpu-image-puller.yaml" in text("en", result.fix) and "gpu-image-puller.yaml" in text("ja", result.fix)


def test_a_puller_naming_another_tag_or_not_reaching_the_pool_does_not_count(make_cluster, registry):
    """The site forgot the guide's sed (the example tag), or the puller lists other pools, or does not
    tolerate the GPU taint (the chart's own puller with the GPU image in prePuller.extraImages)."""
    cluster = make_cluster()
    create_daemonset(cluster, shipped_gpu_puller(registry, image=f"{registry.host}/team/gpu:0"))
    elsewhere = shipped_gpu_puller(registry, pools=("gpua10", "gpua10large"))
    elsewhere["metadata"]["name"] = "other-pools"
    create_daemonset(cluster, elsewhere)
    untolerating = shipped_gpu_puller(registry)
    untolerating["metadata"]["name"] = "no-toleration"
    untolerating["spec"]["template"]["spec"]["tolerations"] = []
    create_daemonset(cluster, untolerating)
    result = checks_pullers.image_pullers(context(hub_config(registry), cluster))
    assert verdict(result) == ("image-pullers", "warn", "saw_pullers_missing", "fix_pullers_missing"), result
    assert result.values["images"] == f"{registry.host}/team/gpu:1 → gpu [{registry.host}/team/gpu:0]"


def test_image_pullers_read_the_daemonsets_with_the_shipped_rbac_only(make_cluster, registry, tmp_path):
    cluster = make_cluster()
    create_daemonset(cluster, shipped_gpu_puller(registry))
    ctx = context(hub_config(registry), KUBECONFIG=account_kubeconfig(cluster, tmp_path, [
        CHART_ROLE, CHART_EVENTS, *shipped_rules()]))
    assert verdict(checks_pullers.image_pullers(ctx)) == ("image-pullers", "pass", "saw_pullers_ok", None)
    ctx = context(hub_config(registry), KUBECONFIG=account_kubeconfig(cluster, tmp_path, [
        CHART_ROLE, CHART_EVENTS, *shipped_rules(skip={"hybridhub-doctor-daemonsets"})]))
    result = checks_pullers.image_pullers(ctx)
    assert verdict(result) == ("image-pullers", "fail", "saw_kube_check_forbidden", "fix_kube_check_forbidden")
    assert "DaemonSet" in text("en", result.fix)


def test_a_catalog_without_gpu_profiles_needs_no_puller(make_cluster, registry):
    config = hub_config(registry)
    config.ProfileCatalog.profiles = config.ProfileCatalog.profiles[:1]
    result = checks_pullers.image_pullers(context(config, make_cluster()))
    assert verdict(result) == ("image-pullers", "pass", "saw_gpu_none_needed", None)


# -- together ----------------------------------------------------------------------------------------
def test_all_cluster_checks_green_together_in_both_languages(make_cluster, registry, gitlab):
    cluster = make_cluster()
    pull_secret(cluster, registry)
    create_daemonset(cluster, shipped_gpu_puller(registry))
    ctx = context(hub_config(registry, gitlab), cluster, registry, HYBRIDHUB_DOCTOR_GITLAB_TOKEN=GITLAB_ADMIN_TOKEN)
    mine = ["kube-access", "pools", "gpu-nodes", "images", "image-pullers", "runners"]
    assert [name for name, _ in LIVE_CHECKS][-len(mine):] == mine
    results = {r.check: r for r in run_checks(ctx) if r.check in mine}
    assert {n: r.status for n, r in results.items()} == {n: "pass" for n in mine}, results
    report = json.loads(render_json(list(results.values()), "x"))
    for item in report["checks"]:
        assert item["title"]["en"] == EN[f"title_{item['check']}"] and item["title"]["ja"] == JA[f"title_{item['check']}"]
        assert item["saw"]["ja"] and item["saw"]["en"] != item["saw"]["ja"]
