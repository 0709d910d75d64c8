"""The zero-to-jupyterhub values validate against the chart's schema, as Helm validates them."""

from __future__ import annotations

import jsonschema
import pytest

from .z2jh import SCHEMAS, VALUE_SETS, chart_values, load_schema, load_yaml

pytestmark = pytest.mark.deploy


@pytest.mark.parametrize("schema", sorted(SCHEMAS))
@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_values_valid_against_chart_schema(schema, value_set):
    values = chart_values(*VALUE_SETS[value_set])
    validator = jsonschema.Draft7Validator(load_schema(schema))
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(values)]
    assert errors == []


@pytest.mark.parametrize("schema", sorted(SCHEMAS))
def test_schema_catches_a_misspelt_key(schema):
    """The check has teeth: a typo the chart would reject fails here too."""
    values = chart_values(*VALUE_SETS["aks"])
    values["hub"]["nodeSelecter"] = {"agentpool": "system"}
    assert not jsonschema.Draft7Validator(load_schema(schema)).is_valid(values)


def test_chart_defaults_alone_are_valid():
    """The chart's own default values (the merge base) satisfy the schema by themselves."""
    for schema in SCHEMAS:
        jsonschema.validate(chart_values(), load_schema(schema), cls=jsonschema.Draft7Validator)


def test_core_pods_on_system_pool_and_no_always_on_user_capacity():
    values = load_yaml(VALUE_SETS["aks"][0])
    assert values["hub"]["nodeSelector"] == {"agentpool": "system"}
    assert values["proxy"]["chp"]["nodeSelector"] == {"agentpool": "system"}
    assert values["proxy"]["traefik"]["nodeSelector"] == {"agentpool": "system"}
    scheduling = values["scheduling"]
    assert scheduling["userPlaceholder"]["enabled"] is False and scheduling["userPlaceholder"]["replicas"] == 0
    assert scheduling["userScheduler"]["enabled"] is False
    # the hook puller would make each upgrade wait for every node; the continuous one (a DaemonSet)
    # neither keeps nor asks for a node, and has the CPU image there before a user; the GPU pools have
    # their own puller (helm-values/gpu-image-puller.yaml, test_image_puller.py)
    assert values["prePuller"]["hook"]["enabled"] is False
    assert values["prePuller"]["continuous"]["enabled"] is True
    # hybridhub's culler replaces the chart's, with per-profile timeouts
    assert values["cull"]["enabled"] is False


def test_profiles_are_not_kept_in_the_values():
    """Profiles come from the ProfileCatalog; a singleuser.profileList would be a second copy, and the
    chart's default ([]) is removed (null), or it would replace HybridKubeSpawner's profiles."""
    assert load_yaml(VALUE_SETS["aks"][0])["singleuser"]["profileList"] is None
    for value_set in VALUE_SETS.values():
        assert "profileList" not in chart_values(*value_set)["singleuser"]
        for path in value_set[1:]:
            assert "profileList" not in (load_yaml(path).get("singleuser") or {}), path
