"""A version's lineage (design §3 and §6): what the pipeline recorded on the run — its tags,
metrics and the ``lineage.json`` the build job logged — joined with the environment's
deployments, with links to where each part lives and how exactly it can be reproduced.

The run's tags are the source of truth (every job writes them as it goes, so a pipeline that
stopped early still has a lineage); ``lineage.json`` fills what no tag carries (the build job's id).
"""

from __future__ import annotations

import json

from .registry import Version

EXACT, WEAKER = "exact", "weaker"


def _int(value) -> int | None:
    return int(value) if isinstance(value, int) or (isinstance(value, str) and value.isdigit()) else None


def image_of(tags: dict[str, str]) -> dict:
    if tags.get("hybridhub.image_digest") or tags.get("hybridhub.image"):
        return {"ref": tags.get("hybridhub.image"), "digest": tags.get("hybridhub.image_digest")}
    return {"context_digest": tags.get("hybridhub.image_context_digest"), "built": False}


def parse_artifact(raw: bytes | None) -> dict:
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def recorded(version: Version, name: str, artifact: dict) -> dict:
    """design §3's lineage.json of ``version``: tags first, the artifact for what they lack."""
    tags = version.tags
    jobs = artifact.get("jobs") if isinstance(artifact.get("jobs"), dict) else {}
    data = artifact.get("data") if isinstance(artifact.get("data"), dict) else {}
    return {
        "model": {"name": name, "version": version.version, "registry_version": tags.get("hybridhub.registry_version"),
                  "run_id": version.run_id},
        "commit": tags.get("hybridhub.commit") or artifact.get("commit"),
        "project": tags.get("hybridhub.project") or artifact.get("project"),
        "pipeline_id": version.pipeline_id or _int(artifact.get("pipeline_id")),
        "jobs": {"train": _int(tags.get("gitlab.CI_JOB_ID")) or _int(jobs.get("train")),
                 "test": _int(tags.get("hybridhub.test_job_id")) or _int(jobs.get("test")),
                 "build": _int(tags.get("hybridhub.build_job_id")) or _int(jobs.get("build"))},
        "data": {"train": version.data("train") or data.get("train"), "test": version.data("test") or data.get("test")},
        "metrics": dict(version.metrics) or artifact.get("metrics") or {},
        "gate": version.gate if "hybridhub.gate" in tags else (artifact.get("gate") or version.gate),
        "image": image_of(tags) if any(k.startswith("hybridhub.image") for k in tags) else
                 (artifact.get("image") or image_of(tags)),
        "reproduces": tags.get("hybridhub.reproduces") or artifact.get("reproduces") or None,
    }  # fmt: skip


def reproducibility(data: dict) -> tuple[str, list[dict]]:
    """``exact`` when every input was read at a recorded object version, else ``weaker`` with why:
    ``{"code": "data_not_recorded"|"store_unversioned", "which": "train"|"test", "uri"}`` (codes,
    not sentences: the panel says them in the user's language)."""
    warnings = []
    for which in ("train", "test"):
        record = data.get(which)
        if not isinstance(record, dict):
            warnings.append({"code": "data_not_recorded", "which": which, "uri": None})
        elif not record.get("versioned") or not record.get("version_id"):
            warnings.append({"code": "store_unversioned", "which": which, "uri": record.get("uri")})
    return (WEAKER if warnings else EXACT), warnings


def links(lineage: dict, web_url: str | None, registry_url: str | None) -> dict:
    """GitLab pages of each part (``web_url``: the project's), or None where there is none."""
    if not web_url:
        return {"commit": None, "pipeline": None, "jobs": {k: None for k in lineage["jobs"]}, "image": None,
                "registry": registry_url}  # fmt: skip
    commit, pipeline = lineage.get("commit"), lineage.get("pipeline_id")
    return {
        "commit": f"{web_url}/-/commit/{commit}" if commit else None,
        "pipeline": f"{web_url}/-/pipelines/{pipeline}" if pipeline else None,
        "jobs": {k: f"{web_url}/-/jobs/{v}" if v else None for k, v in lineage["jobs"].items()},
        "image": f"{web_url}/container_registry" if lineage["image"].get("ref") else None,
        "registry": registry_url,
    }


def reproductions(version: Version, versions: list[Version]) -> list[dict]:
    """The versions that reproduce ``version``, each with its metrics beside the original's."""
    found = []
    for other in versions:
        if other.tags.get("hybridhub.reproduces") != version.version:
            continue
        shared = sorted(set(version.metrics) & set(other.metrics))
        found.append({"version": other.version, "pipeline_id": other.pipeline_id, "metrics": dict(other.metrics),
                      "same_metrics": bool(shared) and all(abs(version.metrics[k] - other.metrics[k]) <= 1e-9 for k in shared),
                      "gate": other.gate})  # fmt: skip
    return found
