"""Who may import whom (DESIGN.md, "Boundaries"), checked on the source of the shipped package."""

from __future__ import annotations

import ast

import pytest

from tests.conftest import REPO_ROOT
from tests.foundation.test_roles import LAB_EXT, SHIPPED, SPAWNER, imported_modules, modules

pytestmark = pytest.mark.demo

KUBERNETES = ("kubernetes", "kubernetes_asyncio", "kubespawner", "hybridhub.spawner.kube")


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def offenders(paths, forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()) -> dict[str, list[str]]:
    found = {}
    for path in paths:
        # a package that holds an allowed module is allowed too (importing it runs its __init__ only)
        bad = sorted(n for n in imported_modules(path) if within(n, forbidden) and not within(n, allowed)
                     and not any(a.startswith(n + ".") for a in allowed))
        if bad:
            found[str(path.relative_to(REPO_ROOT))] = bad
    return found


def test_the_shipped_package_never_imports_the_tests():
    """Test doubles stay in tests/: the demo starts the Kubernetes stand-in as a program instead."""
    assert offenders(modules(*SHIPPED), ("tests",)) == {}


def test_the_shipped_package_does_not_put_the_checkout_on_sys_path():
    changes = []
    for path in modules(*SHIPPED):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("insert", "append", "extend")
                    and ast.unparse(node.func.value) == "sys.path"):
                changes.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}")
    assert changes == []


def test_the_spawner_does_not_import_the_lab_extension():
    assert offenders(modules(SPAWNER), ("hybridhub.lab_ext",)) == {}


def test_the_lab_extension_never_talks_to_kubernetes():
    """It runs in every user server: object store, GitLab and the hub API only; of the spawner,
    only the HYBRIDHUB_* contract."""
    assert offenders(modules(LAB_EXT), KUBERNETES) == {}
    assert offenders(modules(LAB_EXT), ("hybridhub.hub_ext", "hybridhub.spawner"),
                     allowed=("hybridhub.spawner.envvars",)) == {}


def test_the_checks_see_imports_inside_functions_and_by_name(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import importlib\n\ndef f():\n    from tests.kube_standin import from_catalog\n"
                      "    importlib.import_module('tests.kube_standin.pools')\n")
    assert imported_modules(sample) >= {"tests.kube_standin", "tests.kube_standin.from_catalog",
                                        "tests.kube_standin.pools"}
