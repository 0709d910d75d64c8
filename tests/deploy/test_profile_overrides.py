"""Every kubespawner_override key the hub will use is a real KubeSpawner trait."""

from __future__ import annotations

import pytest
from kubespawner import KubeSpawner

from hybridhub.spawner.pod import profile_list
from hybridhub.spawner.profiles import ProfileCatalog

from traitlets.config import Config

from .z2jh import VALUE_SETS, chart_values, config_for

pytestmark = pytest.mark.deploy

TRAITS = set(KubeSpawner.class_trait_names())


def hand_written_overrides() -> list[dict]:
    """kubespawner_override blocks written in the values by hand (profileList), if any."""
    found = []
    for files in VALUE_SETS.values():
        for entry in (chart_values(*files)["singleuser"].get("profileList") or []):
            found.append(entry.get("kubespawner_override", {}))
            for option in (entry.get("profile_options") or {}).values():
                for choice in (option.get("choices") or {}).values():
                    found.append(choice.get("kubespawner_override", {}))
    return found


def test_catalog_overrides_are_kubespawner_traits():
    profiles = profile_list(ProfileCatalog(), set(), True)
    assert profiles, "the default catalog offers profiles"
    for entry in profiles:
        assert set(entry) >= {"slug", "display_name", "description", "default", "kubespawner_override"}
        unknown = sorted(set(entry["kubespawner_override"]) - TRAITS)
        assert unknown == [], f"{entry['slug']}: not KubeSpawner traits: {unknown}"


def test_site_catalog_overrides_are_kubespawner_traits():
    c = Config(config_for("aks+site", HYBRIDHUB_IMAGE_REGISTRY="registry.corp.example/hybridhub"))
    for language in ("en", "ja"):
        for entry in profile_list(ProfileCatalog(config=c), set(), True, language):
            assert set(entry["kubespawner_override"]) <= TRAITS
            assert entry["kubespawner_override"]["image"].startswith("registry.corp.example/hybridhub/")


def test_hand_written_overrides_are_kubespawner_traits():
    for override in hand_written_overrides():
        assert set(override) <= TRAITS, sorted(set(override) - TRAITS)


def test_the_check_rejects_a_non_trait():
    assert "node_selectors" not in TRAITS and "node_selector" in TRAITS
