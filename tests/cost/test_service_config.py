"""The service's configuration: the helm values' JSON file, exact prices from the catalog, bad state."""

from __future__ import annotations

import json
from fractions import Fraction as F

import pytest
from traitlets import TraitError

from hybridhub.hub_ext.cost.service import CostService

pytestmark = pytest.mark.cost


def service(tmp_path, **cost) -> CostService:
    config = {
        "CostService": {"state_path": str(tmp_path / "cost.json"), "lb_price_per_hour": 3.36,
                        "public_ip_price_per_hour": 0.67, "public_ips": 2, "other_per_month": 200,
                        "timezone": "Asia/Tokyo", "service_url": "http://0.0.0.0:10101",
                        "extra_pools": {"system": {"vm_size": "Standard_B2s", "vm_price_per_hour": 11.52}}, **cost},
        "ProfileCatalog": {"pools": [{"name": "gpua10", "vm_size": "Standard_NV6ads_A10_v5",
                                      "vm_price_per_hour": 74.7, "gpus_per_node": 1}],
                           "profiles": [{"slug": "gpu", "display_name": {"en": "GPU"}, "pool": "gpua10", "image": "i",
                                         "cpu_request": 1, "cpu_limit": 1, "memory_request": "1G",
                                         "memory_limit": "1G", "gpus": 1, "idle_timeout_seconds": 60,
                                         "max_age_seconds": 60}]},
    }
    path = tmp_path / "services.json"  # as helm-values/jupyterhub-aks.yaml mounts it
    path.write_text(json.dumps(config))
    svc = CostService()
    svc.initialize([f"--config={path}"])
    return svc


def test_json_config_prices_from_the_catalog_exactly(tmp_path):
    svc = service(tmp_path)
    assert svc.recorder.prices == {"gpua10": F("74.7"), "system": F("11.52")}
    assert svc.recorder.fixed.lb_price_per_hour == F(336, 100) and svc.recorder.fixed.public_ips == 2
    assert svc.pool_info()["gpua10"]["vm_size"] == "Standard_NV6ads_A10_v5"
    assert svc.summary_path == str(tmp_path / "cost-summary.json")
    assert svc.summary()["month"]["start"].endswith("+09:00")  # the month of Asia/Tokyo
    assert svc.event_namespaces == ["default", "kube-system"]  # the pods' namespace is "default" here


def test_prices_follow_the_configuration_after_a_restart(tmp_path):
    svc = service(tmp_path)
    svc.recorder.node_up(svc.clock() - 3_600_000_000, "gpua10", "n1")
    svc.feed.changes += 1
    svc.save()
    again = service(tmp_path, lb_price_per_hour=4)
    assert again.recorder.ledger.up_nodes() == {"n1": "gpua10"}
    assert again.recorder.fixed.lb_price_per_hour == 4


@pytest.mark.parametrize("content, reason", [
    ('{"version": 1, "data": {"recorder": {"prices": {}}}}', "not a cost recorder state"),
    ("{not json", "not a readable cost state"),
])
def test_an_unreadable_state_stops_the_service_with_a_clear_message(tmp_path, capfd, content, reason):
    (tmp_path / "cost.json").write_text(content)
    with pytest.raises(SystemExit) as info:
        service(tmp_path)
    assert info.value.code == 2
    err = capfd.readouterr().err
    assert "cannot read the cost state" in err and reason in err


def test_the_summary_for_the_guard_is_rewritten_even_without_changes(tmp_path):
    svc = service(tmp_path, summary_interval=0.0)
    start = svc.clock()
    svc.clock = lambda: start
    svc.save(force=True)
    path = tmp_path / "cost-summary.json"
    first = json.loads(path.read_text())["data"]["generated_at"]
    svc.clock = lambda: start + 3_600_000_000  # an hour later, nothing happened on the cluster
    svc.save()
    again = json.loads(path.read_text())["data"]
    assert again["generated_at"] != first and again["generated_at"] == svc.summary()["generated_at"]
    svc.summary_interval = 3600.0
    svc.clock = lambda: start + 7_200_000_000
    svc.save()  # nothing changed and the summary is fresh enough: not rewritten
    assert json.loads(path.read_text())["data"] == again


@pytest.mark.parametrize("setting, message", [
    ({"budget": 0}, "budget must be greater than 0"),
    ({"warn_percent": 120}, "warn_percent must be between 0 and 100"),
    ({"timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
    ({"extra_pools": {"system": {"vm_size": "B2s"}}}, "extra_pools['system'].vm_price_per_hour"),
])
def test_bad_settings_are_refused_naming_the_setting(tmp_path, capfd, setting, message):
    with pytest.raises((SystemExit, TraitError)) as info:
        service(tmp_path, **setting)
    assert message in str(info.value) + capfd.readouterr().err
