"""What the panel needs from a ``.gitlab-ci.yml``: declared variables, stages, job tags.

Only the file itself is read (no ``include:``): enough for defaults in the form and for the
runner column of local runs. GitLab and gitlab-ci-local remain the judges of validity.
"""

from __future__ import annotations

import re

import yaml

from . import ci_rules
from .errors import PipelineError

RESERVED = {
    "image", "services", "stages", "types", "before_script", "after_script", "variables",
    "cache", "include", "workflow", "default", "spec",
}  # fmt: skip
DEFAULT_STAGES = [".pre", "build", "test", "deploy", ".post"]
_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


def load(text: str) -> dict:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PipelineError("invalid_ci_file", details=str(exc)[:500]) from None
    if not isinstance(data, dict):
        raise PipelineError("invalid_ci_file", details="the file is not a mapping of jobs")
    return data


def variables(data: dict) -> list[dict]:
    """``[{key, value, description, options}]`` of the top-level ``variables:``."""
    result = []
    for key, spec in (data.get("variables") or {}).items():
        if isinstance(spec, dict):
            value = spec.get("value", "")
            description = str(spec.get("description", ""))
            options = [str(o) for o in spec.get("options", [])] if isinstance(spec.get("options"), list) else []
        else:
            value, description, options = spec, "", []
        result.append(
            {"key": str(key), "value": "" if value is None else str(value), "description": description, "options": options}
        )
    return result


def stages(data: dict) -> list[str]:
    declared = data.get("stages")
    return [str(s) for s in declared] if isinstance(declared, list) else list(DEFAULT_STAGES)


def jobs(data: dict, overrides: list[dict] | None = None, source: str = "push") -> dict[str, dict]:
    """Job name -> ``{stage, tags, when, environment}`` for the visible (non-hidden, non-keyword)
    jobs a pipeline with the variables ``overrides`` (over the file's defaults) would have: a job
    whose ``rules`` match none is left out, ``when`` comes from the matching rule (ci_rules).
    ``source``: CI_PIPELINE_SOURCE (gitlab-ci-local, the local backend's tool, says "push")."""
    values = {v["key"]: v["value"] for v in variables(data)}
    values.update({v["key"]: v["value"] for v in overrides or []})
    values.setdefault("CI_PIPELINE_SOURCE", source)
    found = {}
    for name, spec in data.items():
        if name in RESERVED or str(name).startswith(".") or not isinstance(spec, dict):
            continue
        when = ci_rules.job_when(spec, values)
        if when == "never":
            continue
        tags = spec.get("tags") if isinstance(spec.get("tags"), list) else []
        found[str(name)] = {
            "stage": str(spec.get("stage", "test")),
            "tags": [str(t) for t in tags],
            "when": when,
            "environment": environment(spec),
        }
    return found


def environment(spec: dict) -> str:
    """The environment a job deploys to (``environment: production`` or ``environment: {name:
    production}``, GitLab's two forms), or ''. An ``action`` other than ``start`` (stop, prepare,
    verify, access) makes no deployment in GitLab (doc/ci/yaml/_index.md, environment:action)."""
    value = spec.get("environment")
    if isinstance(value, dict):
        if str(value.get("action", "start")) != "start":
            return ""
        value = value.get("name")
    return str(value) if isinstance(value, (str, int)) and str(value) else ""


def expand(value: str, values: dict[str, str]) -> str:
    """``$VAR`` and ``${VAR}`` replaced from ``values`` (unknown names become empty)."""
    return _VAR.sub(lambda m: values.get(m.group(1), ""), value)


def job_tags(data: dict, overrides: list[dict]) -> dict[str, list[str]]:
    values = {v["key"]: v["value"] for v in variables(data)}
    values.update({v["key"]: v["value"] for v in overrides})
    return {name: [t for t in (expand(tag, values) for tag in job["tags"]) if t] for name, job in jobs(data, overrides).items()}
