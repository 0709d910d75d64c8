"""``hybridhub doctor`` in the chart's hub pod: all green on our values, and each fix undone is caught.

The doctor runs as ``kubectl exec deploy/hub -- hybridhub doctor`` would run it: inside the hub pod
of tests/deploy/z2jh.py (the chart's own ``jupyterhub_config.py`` and ``z2jh.py`` at their mount
paths, the values Secret, the mounted ``hybridhub-s3-users`` Secret, the hub container's
environment). Each variant below undoes one fix found in the chart run (values layered last, Helm's
merge: ``null`` deletes a key, a list replaces) and must fail exactly its check, with its fix
sentence in English and Japanese (the JSON report carries both). All runs go in parallel (each
loads the chart config, ~3 s).
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from traitlets import Dict, List
from traitlets.config import Config, Configurable

from hybridhub.hub_ext.doctor.check import Context, configured
from hybridhub.hub_ext.doctor.checks_services import budget_and_prices, services_share_catalog, time_zone
from hybridhub.hub_ext.doctor.checks_users import culler_url
from hybridhub.hub_ext.doctor.i18n import EN, JA, text
from hybridhub.hub_ext.doctor.run import CHECKS
from hybridhub.spawner.profiles import CATALOG_ENV, ProfileCatalog

from .z2jh import (NO_S3_USERS, S3_USERS_KEY, S3_USERS_SECRET, SITE_SECRET_VALUES, VALUE_SETS, HubPod,
                   chart_values)

pytestmark = pytest.mark.deploy

USER_SECRET_KEY = secrets.token_hex(16)  # must never appear in a report
ONE_USER = {S3_USERS_SECRET: {S3_USERS_KEY: json.dumps({"alice": {"access_key": "alice-key",
                                                                  "secret_key": USER_SECRET_KEY}})}}


def cost_settings(**changes) -> dict:
    return {"hub": {"extraFiles": {"hybridhub-services": {"data": {"CostService": changes}}}}}


# variant -> (value set, layer undoing a fix, mounted Secrets, {check: (status, fix key)})
VARIANTS = {
    "green": ("aks+site", {}, ONE_USER, {}),
    "no-users-yet": ("aks+site", {}, NO_S3_USERS, {"storage-keys": ("warn", "fix_keys_empty")}),
    # the chart's singleuser.profileList put back: it replaces the catalog ("No such profile")
    "profile-list": ("aks+site", {"singleuser": {"profileList": [
        {"display_name": "Default", "slug": "default", "kubespawner_override": {}}]}}, ONE_USER,
        {"profile-list": ("fail", "fix_profile_list")}),
    # the stock GitLab login (entry point name, as the chart docs write it): no token hand-over
    "authenticator": ("aks+site", {"hub": {"config": {"JupyterHub": {"authenticator_class": "gitlab"}}}}, ONE_USER,
                      {"authenticator": ("fail", "fix_authenticator_class")}),
    "scopes": ("aks+site", {"hub": {"config": {"HybridGitLabOAuthenticator": {"scope": ["read_user", "api"]}}}},
               ONE_USER, {"authenticator": ("fail", "fix_scopes")}),
    # without the hand-over the services use the built-in catalog and find no API server
    "services": ("aks+site", {"hub": {"extraConfig": {"90-hybridhub-services": None}}}, ONE_USER,
                 {"services": ("fail", "fix_service_handover")}),
    # the site file (MinIO, GitLab) left out
    "no-site": ("aks", {}, ONE_USER, {"storage-endpoint": ("fail", "fix_storage_endpoint"),
                                      "gitlab-url": ("fail", "fix_gitlab_url")}),
    # the users.json mount deleted (a site file's hub.extraVolumes replacing the list)
    "keys-mount": ("aks+site", {"hub": {"extraVolumes": [], "extraVolumeMounts": []}}, ONE_USER,
                   {"storage-keys": ("fail", "fix_keys_unreadable")}),
    "culler-url": ("aks+site", {"singleuser": {"extraEnv": {"HYBRIDHUB_CULLER_URL": None}}}, ONE_USER,
                   {"culler-url": ("fail", "fix_culler_url")}),
    "budget": ("aks+site", cost_settings(budget=None, lb_price_per_hour=None), ONE_USER,
               {"budget": ("fail", "fix_budget")}),
    "timezone": ("aks+site", cost_settings(timezone=None), ONE_USER, {"timezone": ("warn", "fix_timezone")}),
}
LANGUAGES = ("en", "ja")


def run_doctor(root: Path, variant: str) -> dict:
    value_set, layer, mounted, _ = VARIANTS[variant]
    pod = HubPod(root / variant, chart_values(*VALUE_SETS[value_set], layer),
                 site_secret=SITE_SECRET_VALUES, mounted_secrets=mounted,
                 service_hosts={"hub": ("127.0.0.1", 8081), "proxy-api": ("127.0.0.1", 8001),
                                "proxy-public": ("127.0.0.1", 80)},
                 kube_api=("127.0.0.1", 443))
    pod.write()
    # --offline: the configuration checks (the live ones are tests/deploy/test_doctor_live.py)
    argv = [sys.executable, "-m", "hybridhub.hub_ext.cli", "doctor", "--json", "--offline"]
    result = subprocess.run(pod.command(argv), env=pod.environment(), capture_output=True, text=True, timeout=120)
    return {"code": result.returncode, "stdout": result.stdout, "stderr": result.stderr}


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    root = tmp_path_factory.mktemp("doctor")
    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(zip(VARIANTS, pool.map(lambda variant: run_doctor(root, variant), VARIANTS)))


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_each_undone_fix_fails_its_check(reports, variant):
    run = reports[variant]
    report = json.loads(run["stdout"])  # the chart config's own prints go to stderr
    expected = VARIANTS[variant][3]
    by_check = {item["check"]: item for item in report["checks"]}
    assert list(by_check) == [name for name, _ in CHECKS]
    for name, item in by_check.items():
        status, fix = expected.get(name, ("pass", None))
        fixes = fix and {language: text(language, fix) for language in LANGUAGES}
        assert (item["status"], item["fix"]) == (status, fixes), (name, item)
        assert item["title"] == {language: text(language, f"title_{name}") for language in LANGUAGES}
        assert all(item["saw"][language] for language in LANGUAGES)
    assert run["code"] == (1 if any(status == "fail" for status, _ in expected.values()) else 0), run["stderr"][-2000:]
    assert report["counts"] == {s: sum(i["status"] == s for i in report["checks"]) for s in ("pass", "warn", "fail")}
    # no secret in any report: the OAuth client secret, the crypt key, a user's S3 secret key
    for secret in (SITE_SECRET_VALUES["gitlab-oauth-client-secret"], SITE_SECRET_VALUES["crypt-key"], USER_SECRET_KEY):
        assert secret not in run["stdout"] + run["stderr"]


def test_the_fix_sentences_read_in_both_languages(reports):
    item = json.loads(reports["profile-list"]["stdout"])["checks"][0]
    assert "singleuser.profileList" in item["fix"]["en"]
    assert item["saw"]["en"] == "c.KubeSpawner.profile_list is set and replaces the catalog: default"
    assert "singleuser.profileList" in item["fix"]["ja"] and "削除" in item["fix"]["ja"]


def test_every_message_has_both_languages():
    assert set(EN) == set(JA)
    for key in EN:
        assert set(_fields(EN[key])) == set(_fields(JA[key])), key


def _fields(template: str) -> list[str]:
    import string

    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def test_text_report_and_broken_config(tmp_path):
    """The text report (the default), and a configuration that does not load: one failing entry."""
    pod = HubPod(tmp_path / "pod", chart_values(*VALUE_SETS["aks+site"], {"hub": {"extraConfig": {
        "99-broken": "raise RuntimeError('broken on purpose')"}}}), site_secret=SITE_SECRET_VALUES,
        mounted_secrets=ONE_USER, service_hosts={"hub": ("127.0.0.1", 8081), "proxy-api": ("127.0.0.1", 8001),
                                                 "proxy-public": ("127.0.0.1", 80)})
    pod.write()
    argv = [sys.executable, "-m", "hybridhub.hub_ext.cli", "doctor"]
    result = subprocess.run(pod.command(argv), env={**pod.environment(), "LANG": "ja_JP.UTF-8"},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "[不合格] ハブの設定が読み込めること: 設定の読み込みに失敗しました: RuntimeError: broken on purpose" in result.stdout
    assert text("ja", "fix_config_error") in result.stdout


# -- in-process checks over a Config of their own (no chart run) ----------------------------------

class Base(Configurable):
    env = Dict(config=True)
    names = List(config=True)


class Derived(Base):
    pass


def test_settings_resolve_as_traitlets_loads_them():
    config = Config()
    config.Base.env = {"A": "1", "B": "1"}
    config.Derived.env.update({"B": "2"})
    config.Base.names = ["a"]
    config.Derived.names.append("b")
    real = Derived(config=config)  # traitlets' own resolution, the reference
    assert configured(config, Derived, "env") == real.env == {"A": "1", "B": "2"}
    assert configured(config, Derived, "names") == real.names == ["a", "b"]
    assert configured(config, Base, "env") == Base(config=config).env


def test_culler_url_given_by_an_update_in_extra_config():
    config = Config()
    config.JupyterHub.spawner_class = "hybridhub.spawner.kube.HybridKubeSpawner"
    assert culler_url(Context(config)).status == "fail"
    config.KubeSpawner.environment.update({"HYBRIDHUB_CULLER_URL": "http://hub:10100/services/hybridhub-culler/"})
    assert culler_url(Context(config)).status == "pass"


def cost_context(tmp_path, settings: dict, tz: str | None) -> Context:
    path = tmp_path / "services.json"
    path.write_text(json.dumps({"CostService": settings}))
    config = Config()
    config.JupyterHub.services = [{"name": "hybridhub-cost", "command": [
        "python3", "-m", "hybridhub.hub_ext.cost", f"--config={path}"]}]
    return Context(config, environ={"TZ": tz} if tz else {})


def test_time_zone_agrees_with_the_hubs_tz(tmp_path):
    settings = {"budget": 50000, "lb_price_per_hour": 3.36, "public_ip_price_per_hour": 0.67, "timezone": "Asia/Tokyo"}
    assert time_zone(cost_context(tmp_path, settings, "Asia/Tokyo")).status == "pass"
    assert time_zone(cost_context(tmp_path, settings, None)).status == "pass"
    differs = time_zone(cost_context(tmp_path, settings, "UTC"))
    assert (differs.status, differs.fix, differs.values) == ("warn", "fix_timezone_differs",
                                                             {"zone": "Asia/Tokyo", "tz": "UTC"})
    assert budget_and_prices(cost_context(tmp_path, settings, None)).values["budget"] == "50,000"


def test_an_invalid_budget_is_a_failure_naming_the_setting(tmp_path):
    result = budget_and_prices(cost_context(tmp_path, {"budget": 0, "timezone": "Asia/Tokyo"}, None))
    assert (result.status, result.fix) == ("fail", "fix_cost_config")
    assert "CostService.budget" in text("en", result.saw, **result.values)


def test_services_appended_in_extra_config_are_checked():
    config = Config()
    service = {"name": "hybridhub-culler", "command": ["python3", "-m", "x"],
               "environment": {"KUBERNETES_SERVICE_HOST": "10.0.0.1"}}
    config.JupyterHub.services.append(service)
    result = services_share_catalog(Context(config))
    assert (result.status, result.saw, result.values["service"]) == ("fail", "saw_service_catalog_missing",
                                                                      "hybridhub-culler")
    assert services_share_catalog(Context(Config())).status == "warn"  # no hybridhub service at all
    catalog = ProfileCatalog(config=config).as_json()
    service["environment"] = {CATALOG_ENV: catalog}  # the catalog, no API address
    result = services_share_catalog(Context(config))
    assert (result.status, result.saw, result.values["missing"]) == (
        "fail", "saw_service_kube", "KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT")
    service["environment"].update(KUBERNETES_SERVICE_HOST="10.0.0.1", KUBERNETES_SERVICE_PORT="443")
    assert services_share_catalog(Context(config)).status == "pass"


def test_a_missing_config_file_is_a_failure_not_a_check_of_defaults(tmp_path, capsys):
    from hybridhub.hub_ext.cli import main

    assert main(["doctor", "--json", "--config", str(tmp_path / "jupyterhub_config.py")]) == 1
    (only,) = json.loads(capsys.readouterr().out)["checks"]
    assert (only["check"], only["status"]) == ("config", "fail")
    assert "FileNotFoundError: no file" in only["saw"]["en"] and only["fix"]["ja"] == text("ja", "fix_config_missing")
