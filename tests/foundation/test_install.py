"""One distribution, one namespace, and the extensions enabled right after install."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.demo

BIN = Path(sys.executable).parent


def _run(*args: str) -> str:
    result = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def test_labextension_and_server_extension_are_enabled():
    labext = _run(str(BIN / "jupyter"), "labextension", "list")
    assert any("hybridhub v" in line and "enabled" in line and "OK" in line for line in labext.splitlines()), labext
    serverext = _run(str(BIN / "jupyter"), "server", "extension", "list")
    assert any(line.strip().startswith("hybridhub.lab_ext") and "enabled" in line for line in serverext.splitlines())
    assert "hybridhub.lab_ext 0.1.0 \x1b[32mOK" in serverext or "hybridhub.lab_ext 0.1.0 OK" in serverext


def test_console_script_lists_subcommands():
    out = _run(str(BIN / "hybridhub"), "--help")
    assert "demo" in out


def test_wheel_holds_one_namespace_and_the_prebuilt_extension(tmp_path):
    env = dict(os.environ, SKIP_JUPYTER_BUILDER="1")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(REPO_ROOT)],
        check=True,
        env=env,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("hybridhub-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {n.split("/")[0] for n in names}
    assert {t for t in top_level if not t.startswith("hybridhub-")} == {"hybridhub"}
    assert "hybridhub/__init__.py" not in names  # PEP 420 namespace
    for package in ("spawner", "hub_ext", "lab_ext"):
        assert f"hybridhub/{package}/__init__.py" in names
    data = "hybridhub-0.1.0.data/data/"
    assert data + "etc/jupyter/jupyter_server_config.d/hybridhub.json" in names
    assert data + "share/jupyter/labextensions/hybridhub/package.json" in names
    assert data + "share/jupyter/labextensions/hybridhub/install.json" in names
    assert any(n.startswith(data + "share/jupyter/labextensions/hybridhub/static/remoteEntry.") for n in names)
    assert "hybridhub/lab_ext/locale/ja_JP/LC_MESSAGES/hybridhub.json" in names
