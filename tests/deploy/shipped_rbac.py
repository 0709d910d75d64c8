"""helm-values/cost-node-reader.yaml's RBAC as the kube stand-in's rules (tests/kube_standin/authz.py)."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.kube_standin.authz import Rule

SHIPPED = Path(__file__).resolve().parents[2] / "helm-values" / "cost-node-reader.yaml"


def shipped_rules(skip: set[str] = frozenset()) -> list[Rule]:
    """The file's Roles and ClusterRoles as stand-in rules (its hub namespace jhub is the stand-in's
    default); ``skip`` leaves out the named ones."""
    rules = []
    for d in (d for d in yaml.safe_load_all(SHIPPED.read_text()) if d):
        if d["kind"] not in ("Role", "ClusterRole") or d["metadata"]["name"] in skip:
            continue
        ns = d["metadata"].get("namespace")
        for r in d["rules"]:
            rules.append(Rule(tuple(r["verbs"]), tuple(r["resources"]), tuple(r["apiGroups"]),
                              namespaces=None if d["kind"] == "ClusterRole" else ("default" if ns == "jhub" else ns,)))
    return rules
