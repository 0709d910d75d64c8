"""The demo refuses to start with one clear line: missing binary, unwritable data dir."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.demo

HYBRIDHUB = str(Path(sys.executable).parent / "hybridhub")


def _run(args, env=None):
    return subprocess.run([HYBRIDHUB, "demo", *args], capture_output=True, text=True, timeout=60, env=env)


def test_unwritable_data_dir(tmp_path):
    target = tmp_path / "file-not-dir"
    target.write_text("x")
    result = _run(["--data-dir", str(target / "demo"), "--port", "18500"])
    assert result.returncode == 2
    assert result.stderr.startswith("hybridhub demo: cannot start: the data directory")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_missing_proxy_binary(tmp_path, monkeypatch, capsys):
    from hybridhub.hub_ext.cli import main
    from hybridhub.hub_ext.demo import preflight

    real = preflight.find_binary
    monkeypatch.setattr(preflight, "find_binary", lambda name: None if name == "configurable-http-proxy" else real(name))
    assert main(["demo", "--data-dir", str(tmp_path / "d"), "--port", "18600"]) == 2
    err = capsys.readouterr().err
    assert "'configurable-http-proxy' was not found" in err and "./dev demo" in err
    assert err.count("\n") == 1
    assert not (tmp_path / "d").exists()  # refused before touching anything


def test_port_out_of_range(tmp_path):
    result = _run(["--port", "80", "--data-dir", str(tmp_path / "d")])
    assert result.returncode == 2 and "out of range" in result.stderr
