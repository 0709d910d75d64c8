"""hybridhub cost estimate: the paper's Table 1 to the yen, JSON output, and every bad input."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hybridhub.hub_ext.cost import cli as cost_cli
from hybridhub.hub_ext.cost.estimate import load_input, to_json
from hybridhub.hub_ext.cost.model import compute

pytestmark = pytest.mark.cost

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "cost-paper-table1.yaml"
CONSOLE_SCRIPT = Path(sys.executable).parent / "hybridhub"

TABLE1_ROWS = [
    ("C_np1", "9,216.00"),
    ("C_np2", "3,809.70"),
    ("C_np3", "2,003.44"),
    ("C_lb", "2,419.20"),
    ("C_ip", "482.40"),
    ("C_ip", "482.40"),
    ("e", "200.00"),
    ("total", "18,613.14"),
]


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="hybridhub")
    cost_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, out, err


def table_rows(out: str) -> list[tuple[str, str]]:
    """(term, amount) of each table row; the amount is the column before the share."""
    rows = []
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] in {"C_np1", "C_np2", "C_np3", "C_lb", "C_ip", "e", "total"}:
            rows.append((parts[0], parts[-3]))
    return rows


def test_console_script_prints_table1(tmp_path):
    proc = subprocess.run([str(CONSOLE_SCRIPT), "cost", "estimate", str(EXAMPLE)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert table_rows(proc.stdout) == TABLE1_ROWS
    assert "shares: node pools 81 %, load balancer 13 %, public IPs 5 %, other 1 %" in proc.stdout
    assert "amount (JPY)" in proc.stdout


def test_table1_exact_terms():
    result = compute(load_input(EXAMPLE))
    from fractions import Fraction as F

    amounts = {t.key: t.each for t in result.terms}
    assert amounts == {"C_np1": F(9216), "C_np2": F("3809.7"), "C_np3": F("2003.436"),
                       "C_lb": F("2419.2"), "C_ip": F("482.4"), "e": F(200)}
    assert result.total == F("18613.136")
    assert [t.count for t in result.terms if t.key == "C_ip"] == [2]
    assert {k: round(float(v), 2) for k, v in result.kind_shares().items()} == {
        "node_pools": 80.74, "load_balancer": 13.0, "public_ips": 5.18, "other": 1.07}


def test_table_shows_per_term_share(capsys):
    code, out, err = run(["cost", "estimate", str(EXAMPLE)], capsys)
    assert code == 0 and err == ""
    shares = {line.split()[0]: line.split()[-2] for line in out.splitlines()
              if line.split() and line.split()[0] in {"C_np1", "C_np3", "total"}}
    assert shares == {"C_np1": "49.5", "C_np3": "10.8", "total": "100.0"}


def test_json_output(capsys):
    code, out, err = run(["cost", "estimate", "--json", str(EXAMPLE)], capsys)
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert doc["currency"] == "JPY"
    assert doc["total"] == "18613.14" and doc["total_exact"] == "18613.136"
    terms = {t["key"]: t for t in doc["terms"]}
    assert terms["C_np3"]["each"] == "2003.44" and terms["C_np3"]["amount_exact"] == "2003.436"
    assert terms["C_ip"]["each"] == "482.40" and terms["C_ip"]["amount"] == "964.80"
    assert terms["C_np2"]["quantity"] == "51"
    assert doc["shares_percent"] == {"node_pools": 81, "load_balancer": 13, "public_ips": 5, "other": 1}
    assert doc == to_json(compute(load_input(EXAMPLE)))


def test_other_inputs_general_model(tmp_path, capsys):
    """One pool, no public IP, a 744 h month: C = 10·(1·100 + 2·50) + 2·744 + 0 + 0.5."""
    path = tmp_path / "one.yaml"
    path.write_text(textwrap.dedent("""\
        currency: USD
        hours: 744
        pools:
          - {name: cpu, vm_price_per_hour: 10, hours_at_node_count: [594, 100, 50]}
        lb_price_per_hour: 2
        public_ip_price_per_hour: 0.005
        public_ips: 0
        other: 0.5
    """))
    code, out, _ = run(["cost", "estimate", str(path)], capsys)
    assert code == 0
    assert table_rows(out) == [("C_np1", "2,000.00"), ("C_lb", "1,488.00"), ("e", "0.50"), ("total", "3,488.50")]
    assert "amount (USD)" in out


BAD_INPUTS = [
    ("hours: -720", "hours", "greater than zero"),
    ("hours: 0", "hours", "greater than zero"),
    ("hours: '720'", "hours", "must be a number, got string"),
    ("hours: true", "hours", "must be a number, got boolean"),
    ("hours: .inf", "hours", "must be a finite number, got Infinity"),
    ("lb_price_per_hour: -3.36", "lb_price_per_hour", "must not be negative"),
    ("public_ip_price_per_hour: null", "public_ip_price_per_hour", "must be a number"),
    ("public_ips: 2.5", "public_ips", "whole number"),
    ("public_ips: -1", "public_ips", "must not be negative"),
    ("other: -1", "other", "must not be negative"),
    ("currency: ''", "currency", "non-empty string"),
    ("pools: []", "pools", "must not be empty"),
    ("pools: {}", "pools", "must be a list"),
    ("pools: [{name: a, vm_price_per_hour: 1, hours_at_node_count: [700, 21]}]",
     "pools[0].hours_at_node_count", "sum to 721 h, more than hours (t = 720 h)"),
    ("pools: [{name: a, vm_price_per_hour: 1, hours_at_node_count: [10, -0.2]}]",
     "pools[0].hours_at_node_count[1]", "must not be negative (got -0.2)"),
    ("pools: [{name: a, vm_price_per_hour: 1, hours_at_node_count: []}]",
     "pools[0].hours_at_node_count", "must not be empty"),
    ("pools: [{name: a, vm_price_per_hour: 1, hours_at_node_count: 5}]",
     "pools[0].hours_at_node_count", "must be a list"),
    ("pools: [{name: a, vm_price_per_hour: x, hours_at_node_count: [1]}]",
     "pools[0].vm_price_per_hour", "must be a number, got string"),
    ("pools: [{name: a, vm_price_per_hour: -1, hours_at_node_count: [1]}]",
     "pools[0].vm_price_per_hour", "must not be negative"),
    ("pools: [{name: a, hours_at_node_count: [1]}]", "pools[0].vm_price_per_hour", "is required"),
    ("pools: [{name: a, vm_price_per_hour: 1, hours_at_node_count: [1], zone: x}]", "pools[0].zone", "unknown key"),
    ("pools: [{name: 3, vm_price_per_hour: 1, hours_at_node_count: [1]}]", "pools[0].name", "non-empty string"),
    ("pools: [{name: a, vm_price_per_hour: 1, hours_at_node_count: [1]},"
     " {name: a, vm_price_per_hour: 1, hours_at_node_count: [1]}]", "pools[1].name", "duplicate pool name"),
    ("pools: [7]", "pools[0]", "must be a mapping"),
    ("discount: 5", "discount", "unknown key"),
]

GOOD = {
    "currency": "JPY", "hours": "720", "lb_price_per_hour": "3.36", "public_ip_price_per_hour": "0.67",
    "public_ips": "2", "other": "200",
    "pools": "[{name: a, vm_price_per_hour: 1, hours_at_node_count: [700, 20]}]",
}


def write_input(path: Path, override: str) -> None:
    key = override.split(":", 1)[0]
    lines = {k: f"{k}: {v}" for k, v in GOOD.items()}
    lines[key] = override
    path.write_text("\n".join(lines.values()) + "\n")


@pytest.mark.parametrize("override, field, text", BAD_INPUTS, ids=[b[1] + ":" + b[2] for b in BAD_INPUTS])
def test_bad_input_names_the_field(tmp_path, capsys, override, field, text):
    path = tmp_path / "in.yaml"
    write_input(path, override)
    code, out, err = run(["cost", "estimate", str(path)], capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"hybridhub cost estimate: error: {path}: {field}: ")
    assert text in err


@pytest.mark.parametrize("missing", sorted(GOOD))
def test_missing_key(tmp_path, capsys, missing):
    path = tmp_path / "in.yaml"
    path.write_text("\n".join(f"{k}: {v}" for k, v in GOOD.items() if k != missing) + "\n")
    code, _, err = run(["cost", "estimate", str(path)], capsys)
    assert code == 2
    assert err == f"hybridhub cost estimate: error: {path}: {missing}: is required\n"


@pytest.mark.parametrize("content, text", [
    (None, "no such file"),
    ("hours: [1\n", "not valid YAML"),
    ("- 1\n- 2\n", "(top level): must be a mapping"),
    ("", "(top level): must be a mapping of keys to values, got nothing (null)"),
    (b"\xff\xfe\x00bad", "cannot read"),
])
def test_unreadable_files(tmp_path, capsys, content, text):
    path = tmp_path / "in.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    code, out, err = run(["cost", "estimate", str(path)], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and text in err


def test_sum_below_hours_is_fine(tmp_path, capsys):
    path = tmp_path / "in.yaml"
    write_input(path, "pools: [{name: a, vm_price_per_hour: 1, hours_at_node_count: [700, 19.5, 0.25]}]")
    code, out, err = run(["cost", "estimate", str(path)], capsys)
    assert code == 0, err
    assert ("C_np1", "20.00") in table_rows(out)
