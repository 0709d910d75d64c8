"""The profile catalog: reference defaults, strict validation, group rules."""

import re

import pytest
from traitlets import TraitError

from hybridhub.spawner.profiles import ProfileCatalog

pytestmark = pytest.mark.spawner


def test_defaults_reproduce_the_reference_deployment():
    catalog = ProfileCatalog()
    by_pool = {p.pool.vm_size: p for p in catalog.all_profiles()}
    assert {vm: p.price_per_hour for vm, p in by_pool.items()} == {
        "Standard_B2s": 11.52,
        "Standard_NV6ads_A10_v5": 74.7,
        "Standard_NV18ads_A10_v5": 263.61,
    }
    for pool in catalog.pool_map().values():
        assert (pool.min_nodes, pool.max_nodes) == (0, 3)
    gpu = catalog.get("gpu-a10")
    assert gpu.gpus == 1 and str(gpu.pool.taints[0]) == "sku=gpu:NoSchedule"
    assert catalog.default_profile().slug == "cpu"
    # GPU servers are culled much sooner than CPU ones: that is where the money goes
    assert gpu.idle_timeout_seconds * 2 < catalog.get("cpu").idle_timeout_seconds
    assert all(p.display_name.get("ja") for p in catalog.all_profiles())


@pytest.mark.parametrize(
    "profile_patch, message",
    [
        ({"pool": "nope"}, "profiles[0].pool: no pool named 'nope'"),
        ({"gpus": 2}, "profiles[0].gpus: 2 GPU(s) requested"),
        ({"colour": "red"}, "profiles[0]: unknown field(s) colour"),
        ({"slug": "Bad Slug"}, "profiles[0].slug"),
        ({"cpu_request": 4, "cpu_limit": 1}, "exceeds cpu_limit"),
        ({"display_name": {"ja": "名前"}}, "must map languages to text and include 'en'"),
    ],
)
def test_invalid_profiles_name_the_field(profile_patch, message):
    base = dict(ProfileCatalog().profiles[1])
    base.update(profile_patch)
    with pytest.raises(TraitError, match=re.escape(message)):
        ProfileCatalog(profiles=[base])


def test_missing_field_and_bad_pool_are_refused():
    profile = dict(ProfileCatalog().profiles[0])
    del profile["image"]
    with pytest.raises(TraitError, match=r"profiles\[0\]: missing 'image'"):
        ProfileCatalog(profiles=[profile])
    with pytest.raises(TraitError, match=r"pools\[0\].name"):
        ProfileCatalog(pools=[{"name": "gpu-pool-with-dashes", "vm_size": "x", "vm_price_per_hour": 1}])
    with pytest.raises(TraitError, match="taint 'sku' is not key=value:Effect"):
        ProfileCatalog(pools=[{"name": "gpu", "vm_size": "x", "vm_price_per_hour": 1, "taints": ["sku"]}])


def test_groups_limit_who_may_use_a_profile():
    profiles = [dict(p) for p in ProfileCatalog().profiles]
    profiles[2]["allowed_groups"] = ["research"]
    catalog = ProfileCatalog(profiles=profiles)
    assert [p.slug for p in catalog.for_user(set())] == ["cpu", "gpu-a10"]
    assert [p.slug for p in catalog.for_user({"research"})] == ["cpu", "gpu-a10", "gpu-a10-large"]
    assert len(catalog.for_user(set(), is_admin=True)) == 3
