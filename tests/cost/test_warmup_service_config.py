"""``c.WarmupService`` in the cost service's configuration (the helm values' JSON file form)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from tests.cost.test_service_config import service

pytestmark = [pytest.mark.cost, pytest.mark.warmup]


def test_the_warmup_is_off_unless_enabled(tmp_path):
    assert service(tmp_path).warmup is None


def test_enabled_it_takes_the_services_prices_budget_and_site_policy(tmp_path):
    svc = service(tmp_path, budget=5000)
    svc.config.WarmupService.enabled = True
    svc.config.WarmupService.plan_at = "19:30"
    svc.config.WarmupPolicy.timezone = "Asia/Tokyo"
    loop = svc.make_warmup()
    assert loop.settings.plan_file == str(tmp_path / "warmup-plans.json")  # next to the state
    assert loop.settings.plan_at == "19:30" and loop.policy.timezone == "Asia/Tokyo"
    assert loop.prices() == {"gpua10": Fraction("74.7"), "system": Fraction("11.52")}
    view = loop.budget()
    assert view.budget == 5000 and view.projected == Fraction(svc.summary()["projection"]["total_exact"])
    assert loop.now().tzinfo is not None


def test_the_summary_file_carries_the_warmup_for_the_admin_console(tmp_path):
    """The console reads the summary file, not the cost service's API (console/sources.py)."""
    from hybridhub.hub_ext.console.sources import read_summary

    assert "warmup" not in service(tmp_path).summary()
    svc = service(tmp_path, budget=5000)
    svc.config.WarmupService.enabled = True
    svc.warmup = svc.make_warmup()
    svc._summary_cache = None
    svc.write_summary()
    written = read_summary(svc.summary_path)
    assert written["warmup"]["enabled"] is True and written["warmup"]["month"]["pools"] == []
    assert written["warmup"] == svc.warmup_figures()
