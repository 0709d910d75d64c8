"""benchmarks/warmup.py: the --quick run's summary, a replayed trace file, and the trace format."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from hybridhub.spawner.profiles import ProfileCatalog
from tests.kube_standin.from_catalog import IMAGE_SIZES
from tests.kube_standin.quantity import parse

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

from warmup_hindsight import allowed_over_limit  # noqa: E402
from warmup_trace import (  # noqa: E402
    JP_HOLIDAYS, TOKYO, Session, TraceError, generate, read_trace, working_days, write_trace)

pytestmark = pytest.mark.warmup

GPU_IMAGE = "registry.example.com/hybridhub/singleuser-gpu:latest"


def run_benchmark(*args: str) -> dict:
    done = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / "warmup.py"), *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def cold_wait_bounds(pool_name: str) -> tuple[float, float]:
    """A cold GPU start waits for the pool's node (its provisioning time) and the image pull (40 MiB/s)."""
    pool = ProfileCatalog().pool_map()[pool_name]
    pull = float(parse(IMAGE_SIZES[GPU_IMAGE]) / parse("40Mi"))
    return pool.usual_cold_start_seconds, pool.usual_cold_start_seconds + pull + 30


@pytest.fixture(scope="module")
def quick() -> dict:
    return run_benchmark("--quick")


def test_quick_summary_has_the_ratios_and_sane_figures(quick):
    for key in ("median_wait_ratio", "p90_wait_ratio", "cost_ratio", "cost_vs_placeholders"):
        assert isinstance(quick[key], float) and quick[key] > 0, key
    for mode in ("a", "b", "c"):
        m = quick[mode]
        assert m["gpu_starts"] == quick["sessions"] > 0
        assert 0 < m["median_wait_s"] <= m["p90_wait_s"] <= m["max_wait_s"]
        assert m["gpu_node_hours"] > 0 and m["month_cost_yen"] > m["gpu_cost_yen"] > 0
    low, high = cold_wait_bounds("gpua10")  # the quick team uses gpu-a10 only
    assert quick["a"]["cold_starts"] == quick["a"]["gpu_starts"]
    assert low <= quick["a"]["median_wait_s"] <= high
    # the ratios are what the figures say
    assert quick["median_wait_ratio"] == round(quick["c"]["median_wait_s"] / quick["a"]["median_wait_s"], 3)
    assert quick["cost_vs_placeholders"] == round(quick["c"]["month_cost_yen"] / quick["b"]["month_cost_yen"], 3)


def test_placeholders_cost_more_and_the_policy_warms_after_its_lead_in(quick):
    a, b, c = quick["a"], quick["b"], quick["c"]
    assert b["gpu_node_hours"] > a["gpu_node_hours"]
    assert b["median_wait_s"] < a["median_wait_s"]  # a node is there (and with the puller, its image)
    assert c["warm_windows"] > 0 and any(p["windows"] for p in c["plans"])
    assert c["cold_starts"] < a["cold_starts"]  # at least one start found its node warm
    assert 0 <= c["warmups_wasted"] <= c["warm_windows"]
    assert sum(c["arrivals"].values()) == c["gpu_starts"] and a["arrivals"] is None
    # the real runner carried the plans out: every measured window's placeholder ended one known way
    assert set(c["runner"]) <= {"used", "wasted", "already_here", "never_joined", "budget_stop", "budget_over"}
    assert c["runner"].get("used", 0) >= 1 and sum(c["runner"].values()) == c["warm_windows"]
    assert a["runner"] is None and b["runner"] is None
    assert quick["goal_met"]["cost_vs_placeholders"] == (quick["cost_vs_placeholders"] < 1)


def test_b_and_c_run_with_the_chart_image_puller_and_a_warm_node_has_the_image(quick):
    """(a) is today's deployment as it was (no puller); (b) and (c) run the chart's continuous image puller
    (rendered from helm-values/jupyterhub-aks.yaml). A placeholder node of (b) is up from 08:00, long before
    anyone comes: the image is there, so a start waits only for the container (the stand-in's 5 s)."""
    assert [quick[m]["prepull"] for m in ("a", "b", "c", "c_nodes1", "c_open10")] == [False, True, True, True, True]
    assert "c_p90" not in quick  # its 20 days of history need the month
    assert quick["b"]["cold_starts"] == 0 and quick["b"]["max_wait_s"] <= 10
    # the ratios of the sensitivity runs are what their figures say
    for run in ("c_nodes1", "c_open10"):
        assert quick[f"{run}_ratios"]["median_wait_ratio"] == round(
            quick[run]["median_wait_s"] / quick["a"]["median_wait_s"], 3)
    # windows opening for the 10th percentile of the near starts: nobody comes before the node is Ready
    assert quick["c_open10"]["arrivals"]["before_node_ready"] <= quick["c"]["arrivals"]["before_node_ready"]


def test_hindsight_windows_are_fixed_per_person_and_replayed_like_the_policy(quick):
    """c_hindsight (benchmarks/warmup_hindsight.py): one fixed window per person, chosen knowing the measured
    week, replayed through the same runner; it stops choosing again once the p90 goal holds."""
    h, a = quick["c_hindsight"], quick["a"]
    assert h["windows"] and len({w["user"] for w in h["windows"]}) == len(h["windows"])
    assert all(0 <= w["opens"] < w["closes"] < 24 * 60 for w in h["windows"])
    tries, allowed = h["tries"], allowed_over_limit(h["gpu_starts"])
    assert 1 <= len(tries) <= 3 and tries[-1]["month_cost_yen"] == h["month_cost_yen"]
    assert tries[0]["allowed_over_limit"] == allowed
    for earlier, later in zip(tries, tries[1:]):  # tried again only when the replay left too many over the limit
        assert earlier["over_limit"] > allowed and later["allowed_over_limit"] < earlier["allowed_over_limit"]
    assert (tries[-1]["over_limit"] <= allowed) == (h["p90_wait_s"] <= 0.5 * a["p90_wait_s"])
    assert h["month_cost_yen"] > a["month_cost_yen"]  # its nodes came before the people: paid for
    assert sum(h["runner"].values()) == h["warm_windows"] > 0
    assert quick["c_hindsight_ratios"]["cost_ratio"] == round(h["month_cost_yen"] / a["month_cost_yen"], 3)
    ratios = quick["c_hindsight_ratios"]
    assert quick["p90_and_cost_goals_reachable"] == (ratios["p90_wait_ratio"] <= 0.5 and ratios["cost_ratio"] <= 1.05)


def test_trace_round_trip(tmp_path):
    sessions = generate(14, seed=3)
    assert sessions and all(s.start.date() in working_days(s.start.date(), 1) for s in sessions)
    assert not any(s.start.date() in JP_HOLIDAYS for s in sessions)  # 3 November 2026 is skipped
    path = tmp_path / "trace.jsonl"
    write_trace(sessions, path)
    assert read_trace(path) == sessions
    first = json.loads(path.read_text().splitlines()[0])
    assert set(first) == {"user", "profile", "start", "end", "busy"} and first["start"].endswith("+09:00")


def test_trace_errors_name_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"user": "u", "profile": "gpu-a10", "start": "2026-11-04T09:00:00", '
                    '"end": "2026-11-04T17:00:00", "busy": []}\n')
    with pytest.raises(TraceError, match=r"bad.jsonl:1: .*no time zone"):
        read_trace(path)
    day = datetime(2026, 11, 4, 9, tzinfo=TOKYO)
    overlapping = [Session("u", "gpu-a10", day, day + timedelta(hours=3)),
                   Session("u", "gpu-a10", day + timedelta(hours=2), day + timedelta(hours=4))]
    write_trace(overlapping, path)
    with pytest.raises(TraceError, match="overlap"):
        read_trace(path)


def test_another_trace_file_is_replayed(tmp_path):
    day = datetime(2026, 11, 4, 9, tzinfo=TOKYO)
    sessions = [Session("ana", "gpu-a10-large", day, day + timedelta(hours=2)),
                Session("ben", "gpu-a10", day + timedelta(hours=1), day + timedelta(hours=3))]
    path = tmp_path / "two.jsonl"
    write_trace(sessions, path)
    result = run_benchmark("--trace", str(path), "--lead-in-days", "0")
    assert result["trace"] == str(path) and result["sessions"] == 2 and result["days"] == 1
    a = result["a"]
    assert a["gpu_starts"] == 2 and a["cold_starts"] == 2
    low, high = cold_wait_bounds("gpua10large")
    assert low <= a["max_wait_s"] <= high  # the large pool's node takes longer (480 s) than gpua10's
    assert a["median_wait_s"] >= cold_wait_bounds("gpua10")[0]


def test_no_prepull_runs_every_mode_without_the_puller(tmp_path):
    day = datetime(2026, 11, 4, 9, tzinfo=TOKYO)
    path = tmp_path / "one.jsonl"
    write_trace([Session("ana", "gpu-a10", day, day + timedelta(hours=1))], path)
    result = run_benchmark("--trace", str(path), "--lead-in-days", "0", "--no-prepull")
    assert not any(result[m]["prepull"] for m in ("a", "b", "c", "c_nodes1", "c_open10", "c_p90", "c_hindsight"))
    # (b)'s placeholder node came at 08:00 without the puller: ana still waits for the 7 GiB pull
    low, high = cold_wait_bounds("gpua10")
    pull = high - 30 - low
    assert result["b"]["cold_starts"] == 0 and pull <= result["b"]["median_wait_s"] <= pull + 30


def test_a_trace_without_gpu_starts_has_no_wait_ratios_and_no_verdict(tmp_path):
    day = datetime(2026, 11, 4, 9, tzinfo=TOKYO)
    path = tmp_path / "cpu.jsonl"
    write_trace([Session("ana", "cpu", day, day + timedelta(hours=1))], path)
    result = run_benchmark("--trace", str(path), "--lead-in-days", "0")
    assert result["a"]["gpu_starts"] == 0 and result["median_wait_ratio"] is None
    assert result["c_hindsight"]["windows"] == [] and result["c_hindsight"]["warm_windows"] == 0
    assert "p90_and_cost_goals_reachable" not in result  # nothing to judge it by
