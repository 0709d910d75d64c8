"""docs/deploy-aks.md (and its Japanese twin): the commands match the values and the catalog."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import tomllib

import pytest
import yaml

from hybridhub.hub_ext.cost.estimate import estimate, load_input, render_table
from hybridhub.spawner.profiles import ProfileCatalog
from hybridhub.spawner.storage_keys import user_keys

from .guide_s3_users import build_users_secret
from .z2jh import AKS_VALUES, REPO, SITE_VALUES, VALUES_DIR, load_yaml

pytestmark = pytest.mark.deploy

DOC = REPO / "docs" / "deploy-aks.md"
DOC_JA = REPO / "docs" / "deploy-aks.ja.md"
EXAMPLE = REPO / "examples" / "cost-paper-table1.yaml"
CATALOG = ProfileCatalog()
VALUES = load_yaml(AKS_VALUES)
CLOUD_RUNNER = load_yaml(VALUES_DIR / "gitlab-runner-cloud.yaml")


def blocks(path) -> list[str]:
    return re.findall(r"```(?:sh|text)\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


def commands() -> list[list[str]]:
    found = []
    for block in re.findall(r"```sh\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S):
        for line in block.splitlines():
            for part in re.split(r"\s&&\s|;\s", line):
                if part.strip():
                    found.append(shlex.split(part))
    return found


def options(argv: list[str]) -> dict[str, list[str]]:
    """--flag value [value ...] -> {flag: [values]}; a bare flag maps to []."""
    result: dict[str, list[str]] = {}
    current = None
    for word in argv:
        if word.startswith("--"):
            name, eq, value = word[2:].partition("=")
            current = name
            result.setdefault(name, [])
            if eq:
                result[name].append(value)
        elif current is not None:
            result[current].append(word)
    return result


def find(*prefix: str) -> list[dict[str, list[str]]]:
    return [options(c) for c in commands() if c[: len(prefix)] == list(prefix)]


def test_english_and_japanese_give_the_same_commands():
    assert blocks(DOC) == blocks(DOC_JA)
    assert len(blocks(DOC)) >= 10


def test_nodepools_match_the_catalog():
    added = {o["name"][0]: o for o in find("az", "aks", "nodepool", "add")}
    pools = CATALOG.pool_map()
    assert set(added) == set(pools)
    purpose = VALUES["scheduling"]["userPods"]["nodeAffinity"]["matchNodePurpose"]
    for name, pool in pools.items():
        o = added[name]
        assert o["node-vm-size"] == [pool.vm_size]
        assert "enable-cluster-autoscaler" in o and o["mode"] == ["User"]
        assert o["min-count"] == [str(pool.min_nodes)] and o["max-count"] == [str(pool.max_nodes)]
        assert o["node-count"] == [str(pool.min_nodes)]
        assert o.get("node-taints", []) == ([",".join(map(str, pool.taints))] if pool.taints else [])
        if purpose == "require":
            assert "hub.jupyter.org/node-purpose=user" in o["labels"]


def test_cluster_system_pool_matches_the_values():
    (create,) = find("az", "aks", "create")
    assert create["nodepool-name"] == [VALUES["hub"]["nodeSelector"]["agentpool"]]
    assert create["nodepool-name"] == [VALUES["proxy"]["chp"]["nodeSelector"]["agentpool"]]
    assert create["nodepool-name"] == [CLOUD_RUNNER["nodeSelector"]["agentpool"]]
    if VALUES["scheduling"]["corePods"]["nodeAffinity"]["matchNodePurpose"] == "require":
        assert create["nodepool-labels"] == ["hub.jupyter.org/node-purpose=core"]
    # the reference usage's B2s line counts the system node with the CPU pool's nodes
    assert create["node-vm-size"] == [CATALOG.pool_map()["cpu"].vm_size] and create["node-count"] == ["1"]
    (services_file,) = VALUES["hub"]["extraFiles"].values()
    assert create["node-vm-size"] == [services_file["data"]["CostService"]["extra_pools"]["system"]["vm_size"]]


def test_autoscaler_profile_scales_down_quickly():
    (update,) = [o for o in find("az", "aks", "update") if "cluster-autoscaler-profile" in o]
    profile = dict(item.split("=", 1) for item in update["cluster-autoscaler-profile"])
    minutes = int(profile["scale-down-unneeded-time"].removesuffix("m"))
    assert profile["scale-down-unneeded-time"].endswith("m") and minutes < 10  # AKS default: 10m


def test_secrets_created_are_the_ones_the_values_reference():
    refs = {(e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
            for e in VALUES["hub"]["extraEnv"].values() if isinstance(e, dict)}
    generic = {c[4]: options(c) for c in commands() if c[:4] == ["kubectl", "create", "secret", "generic"]}
    (secret_name,) = {name for name, _ in refs}
    keys = {v.split("=", 1)[0] for v in generic[secret_name]["from-literal"]}
    assert keys == {key for _, key in refs}
    mounted = {v["secret"]["secretName"] for v in VALUES["hub"]["extraVolumes"] if "secret" in v}
    assert mounted and mounted <= set(generic)  # the hub pod would not start without them
    runner_secret = generic[CLOUD_RUNNER["runners"]["secret"]]
    assert {v.split("=", 1)[0] for v in runner_secret["from-literal"]} == {"runner-token", "runner-registration-token"}
    pull = {c[4] for c in commands() if c[:4] == ["kubectl", "create", "secret", "docker-registry"]}
    assert set(load_yaml(SITE_VALUES)["imagePullSecrets"]) <= pull
    runner_toml = tomllib.loads(CLOUD_RUNNER["runners"]["config"])
    assert set(runner_toml["runners"][0]["kubernetes"]["image_pull_secrets"]) <= pull


def test_helm_and_kubectl_use_the_shipped_files_and_namespace():
    (hub,) = find("helm", "upgrade", "--install", "hybridhub")
    files = [VALUES_DIR / p.removeprefix("helm-values/") for p in hub["values"]]
    assert files[0] == AKS_VALUES and files[1].name == "jupyterhub-site.yaml"  # a copy of the example
    assert SITE_VALUES.exists()
    assert hub["version"] == ["4.4.0"]  # the chart release whose schema tests/deploy/schemas holds
    with open(VALUES_DIR / "cost-node-reader.yaml", encoding="utf-8") as f:
        binding = [d for d in yaml.safe_load_all(f) if d["kind"] == "ClusterRoleBinding"][0]
    assert binding["subjects"][0]["namespace"] == hub["namespace"][0]
    (runner,) = find("helm", "upgrade", "--install", "gitlab-runner-cloud")
    assert runner["values"] == ["helm-values/gitlab-runner-cloud.yaml"]
    applied = [c[c.index("-f") + 1] for c in commands() if c[:2] == ["kubectl", "apply"]]
    assert set(applied) == {"helm-values/cost-node-reader.yaml", "helm-values/nvidia-device-plugin.yaml"}


def test_runners_created_with_stage_tags_and_registered_with_the_templates():
    created = {}
    for o in find("curl"):
        data = dict(v.split("=", 1) for v in o.get("data", []) if "=" in v)  # the URL follows the last --data
        if "tag_list" in data:
            created[data["description"]] = data["tag_list"].split(",")
    cloud_name = tomllib.loads(CLOUD_RUNNER["runners"]["config"])["runners"][0]["name"]
    assert created[cloud_name] == ["train"]
    for stage in ("test", "build", "deploy"):
        template = tomllib.loads((VALUES_DIR / "onprem" / f"runner-{stage}.toml").read_text())["runners"][0]
        assert created[template["name"]] == [stage]
    registered = find("sudo", "gitlab-runner", "register")
    assert len(registered) == 3
    for o in registered:
        template = tomllib.loads((REPO / o["template-config"][0]).read_text())["runners"][0]
        assert o["executor"] == [template["executor"]]


def test_every_image_is_built():
    built = set()
    for c in commands():
        if c[:2] == ["docker", "build"]:
            dockerfile = c[c.index("-f") + 1] if "-f" in c else f"{c[-1]}/Dockerfile"
            assert (REPO / dockerfile).exists(), dockerfile
            built.add(dockerfile)
            tag = c[c.index("-t") + 1]
            assert tag == f"$REGISTRY/{dockerfile.split('/')[1]}:$TAG"
    assert built == {str(p.relative_to(REPO)) for p in (REPO / "images").glob("*/Dockerfile")}


def registration_scopes(path, marker: str) -> list[str]:
    """The backticked GitLab scopes in the paragraph (or table row) of ``path`` holding ``marker``."""
    text = path.read_text(encoding="utf-8")
    paragraph = next(p for p in re.split(r"\n\s*\n|\n(?=\|)", text) if marker in p)
    from tests.gitlab_standin.state import SERVER_SCOPES  # every scope name GitLab knows

    return [word for word in re.findall(r"`([a-z_]+)`", paragraph) if word in SERVER_SCOPES]


def test_one_scope_list_in_code_values_and_registration_docs():
    """GitLab refuses a login asking for a scope the application was not registered with
    (invalid_scope), so the authenticator's default, the values and every registration text
    name exactly hub_ext.gitlab.scopes.SCOPES."""
    from hybridhub.hub_ext.gitlab import HybridGitLabOAuthenticator
    from hybridhub.hub_ext.gitlab.scopes import SCOPES

    assert HybridGitLabOAuthenticator().scope == list(SCOPES)
    assert VALUES["hub"]["config"]["HybridGitLabOAuthenticator"]["scope"] == list(SCOPES)
    gitlab_doc = REPO / "docs" / "gitlab.md"
    for path, marker in [
        (DOC, "redirect URI"), (DOC_JA, "リダイレクト URI"), (gitlab_doc, "| Scopes |"), (REPO / "README.md", "**GitLab login**"),
    ]:  # fmt: skip
        assert registration_scopes(path, marker) == list(SCOPES), path
    default_row = next(line for line in gitlab_doc.read_text(encoding="utf-8").splitlines() if line.startswith("| `scope` |"))
    assert f"`{' '.join(SCOPES)}`" in default_row


def test_monthly_cost_is_the_models_prediction_for_the_catalog_prices():
    table = blocks(DOC)[-1]
    assert table == f"$ hybridhub cost estimate examples/cost-paper-table1.yaml\n{render_table(estimate(EXAMPLE))}\n"
    prices = [float(p.vm_price_per_hour) for p in load_input(EXAMPLE).pools]
    assert prices == [p.vm_price_per_hour for p in CATALOG.pool_map().values()]


# -- each person's own MinIO identity (issue 17) -------------------------------------------


def test_per_person_steps_give_each_user_her_own_keys_in_the_mounted_secret(tmp_path):
    """The guide's own lines (jq, openssl) build users.json for two people: each entry is that
    person's, her access key is her name (what ${aws:username} stands for in the policy), and
    the Secret they create is the one the values mount, under the key the hub reads."""
    secret = build_users_secret(tmp_path, ["alice", "bob"])
    (volume,) = [v for v in VALUES["hub"]["extraVolumes"] if v.get("secret", {}).get("secretName") == secret.name]
    (item,) = volume["secret"]["items"]
    assert set(secret.data) == {item["key"]}
    assert secret.file_mode == 0o600  # umask 077: nobody else reads the keys on the admin's disk
    path = tmp_path / "secret-users.json"
    path.write_text(secret.data[item["key"]])
    alice, bob = user_keys(path, "alice"), user_keys(path, "bob")
    assert alice[0] == "alice" and bob[0] == "bob"
    assert alice[1] != bob[1] and all(8 <= len(s) <= 40 for s in (alice[1], bob[1]))  # MinIO's secret key length


def test_minio_policy_is_the_documented_one_and_matches_the_layout():
    """One policy for everyone (docs/storage.md's): own bucket home-<name> read/write, datasets
    read-only; the guide creates it from the shipped file, attaches it to the group every person
    joins, creates each home bucket and datasets, and gives nobody readwrite."""
    shipped = json.loads((VALUES_DIR / "minio-policy-hybridhub-users.json").read_text())
    storage_md = (REPO / "docs" / "storage.md").read_text(encoding="utf-8")
    documented = re.search(r"<<'JSON'\n(.*?)\nJSON\n", storage_md, re.S).group(1)
    assert shipped == json.loads(documented)
    mc = [c for c in commands() if c[:1] == ["mc"]]
    (create,) = [c for c in mc if c[1:4] == ["admin", "policy", "create"]]
    assert REPO / create[6] == VALUES_DIR / "minio-policy-hybridhub-users.json"
    (attach,) = [c for c in mc if c[1:4] == ["admin", "policy", "attach"]]
    (join,) = [c for c in mc if c[1:4] == ["admin", "group", "add"]]
    assert attach[5] == create[5] and options(attach)["group"] == [join[5]] and join[6] == "$S3_USER"
    assert not [c for c in mc if "readwrite" in c]
    buckets = {c[-1].split("/", 1)[1] for c in mc if c[1] == "mb"}
    assert buckets == {"datasets", "home-$S3_USER"}
    by_resource = {tuple(s["Resource"]): set(s["Action"]) for s in shipped["Statement"]}
    home = ("arn:aws:s3:::home-${aws:username}", "arn:aws:s3:::home-${aws:username}/*")
    assert by_resource[home] == {"s3:*"}
    shared = by_resource[("arn:aws:s3:::datasets", "arn:aws:s3:::datasets/*")]
    assert shared and all(a.startswith(("s3:Get", "s3:List")) for a in shared)  # read-only
    site = load_yaml(SITE_VALUES)["hub"]["config"]["HybridSpawner"]
    assert site["storage_default_bucket"] == "datasets" and "storage_prefix_template" not in site


def test_a_new_colleague_replaces_the_secret_the_hub_mounts():
    """Step 8 fetches users.json back from the mounted Secret and applies the same Secret again."""
    (volume,) = [v for v in VALUES["hub"]["extraVolumes"] if "secret" in v]
    name, (item,) = volume["secret"]["secretName"], volume["secret"]["items"]
    lines = [line for block in re.findall(r"```sh\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
             for line in block.splitlines()]
    (fetch,) = [line for line in lines if line.startswith(f"kubectl get secret {name} ")]
    assert "{.data." + item["key"].replace(".", "\\.") + "}" in fetch and fetch.endswith(f"> {item['key']}")
    (apply,) = [line for line in lines if "| kubectl apply -f -" in line and line.startswith("kubectl create secret")]
    assert apply.startswith(f"kubectl create secret generic {name} ") and f"--from-file={item['key']}" in apply
    assert "--dry-run=client" in apply


def warmup_blocks(path) -> list:
    """The YAML blocks of the guide's "GPU warm-up" section, as data (comments are per language)."""
    text = path.read_text(encoding="utf-8")
    section = re.search(r"\n## GPU (?:warm-up|ウォームアップ).*?(?=\n## )", text, re.S).group(0)
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", section, re.S)]


def test_the_guides_warm_up_settings_are_what_the_cost_service_and_the_chart_load(tmp_path):
    from hybridhub.hub_ext.cost.service import CostService
    from hybridhub.hub_ext.cost.warmup_loop import WarmupService
    from hybridhub.hub_ext.warmup.settings import WarmupPolicy

    from .z2jh import NO_S3_USERS, SITE_SECRET_VALUES, chart_values, hub_config

    services, hub = warmup_blocks(DOC)
    assert warmup_blocks(DOC_JA) == [services, hub]
    (files,) = VALUES["hub"]["extraFiles"].values()
    path = tmp_path / "services.json"
    path.write_text(json.dumps({**files["data"], **services}))
    cost = CostService()
    cost.load_config_file(str(path))  # the code path of the service's --config
    assert WarmupService(parent=cost).enabled is True
    policy = WarmupPolicy(parent=cost)
    assert (policy.timezone, policy.max_warm_nodes) == ("Asia/Tokyo", 3) and policy.calendar().holidays
    config = hub_config(chart_values(AKS_VALUES, SITE_VALUES, {"hub": {"config": hub}}), tmp_path / "hub",
                        site_secret=SITE_SECRET_VALUES, mounted_secrets=NO_S3_USERS)
    assert config["HybridSpawner"]["warm_on_intent_service"] == "hybridhub-cost"
    # the spawn form's token needs this scope, which the values' user role gives every user
    assert "access:services!service=hybridhub-cost" in VALUES["hub"]["loadRoles"]["user"]["scopes"]


def guide_lines(path=DOC) -> list[str]:
    return [line for block in re.findall(r"```sh\n(.*?)```", path.read_text(encoding="utf-8"), re.S)
            for line in block.splitlines()]


def test_the_gpu_image_puller_pulls_the_image_the_hub_names_from_the_sites_registry(tmp_path):
    """Step 5 runs the guide's own sed over helm-values/gpu-image-puller.yaml with step 2's REGISTRY and
    TAG: the DaemonSet must pull exactly the GPU profiles' image as the chart's hub configuration names it
    from the site file (a puller naming another image pulls nothing a user runs, or fails with
    ErrImagePull on every GPU node), in the hub's namespace, with the registry's pull secret."""
    from .z2jh import NO_S3_USERS, SITE_SECRET_VALUES, chart_values, hub_config

    (line,) = [line for line in guide_lines() if "helm-values/gpu-image-puller.yaml" in line]
    sed, _, apply = line.partition(" | ")
    assert apply == "kubectl apply -f -"
    (export,) = [line for line in guide_lines() if line.startswith("export REGISTRY=")]
    variables = dict(word.split("=", 1) for word in shlex.split(export)[1:])
    rendered = subprocess.run(["bash", "-c", sed], env={**os.environ, **variables}, cwd=REPO,
                              capture_output=True, text=True, check=True).stdout
    (daemonset,) = [d for d in yaml.safe_load_all(rendered) if d]
    spec = daemonset["spec"]["template"]["spec"]
    site = load_yaml(SITE_VALUES)
    config = hub_config(chart_values(AKS_VALUES, SITE_VALUES), tmp_path / "hub", site_secret=SITE_SECRET_VALUES,
                        mounted_secrets=NO_S3_USERS)
    gpu_pools = {name for name, pool in CATALOG.pool_map().items() if pool.has_gpu}
    hub_gpu_images = {p["image"] for p in config["ProfileCatalog"]["profiles"] if p["pool"] in gpu_pools}
    assert [c["image"] for c in spec["initContainers"]] == sorted(hub_gpu_images)
    assert hub_gpu_images == {f"{variables['REGISTRY']}/singleuser-gpu:{variables['TAG']}"}
    (hub,) = find("helm", "upgrade", "--install", "hybridhub")
    assert daemonset["metadata"]["namespace"] == hub["namespace"][0]
    assert [s["name"] for s in spec["imagePullSecrets"]] == site["imagePullSecrets"]
    # the Japanese guide runs the same line (test_english_and_japanese_give_the_same_commands)
    assert line in guide_lines(DOC_JA)
