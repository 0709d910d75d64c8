"""benchmarks/storage.py over the office link (issue 22): its --quick --link-only run's last line.

The figures are the benchmark's to report (goals are not asserted here: a busy machine may miss
them); what is asserted is what the topology makes true whatever the load: the bytes each path
carried, that the link held its rate, that the second training read was a cache hit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.storage

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def quick() -> dict:
    done = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / "storage.py"), "--quick", "--link-only"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_an_upload_through_the_server_crosses_the_uplink_twice_and_the_link_holds_its_rate(quick):
    size = quick["link_object_mib"] * MiB
    assert quick["link_object_mib"] == 32 and quick["uplink_mbit"] == 100.0 and quick["uplink_latency_ms"] == 20.0
    # office -> cloud, then cloud -> office: twice the object, plus the HTTP requests' headers and answers
    assert 2 * size < quick["bytes_over_link_via_server"] < 2 * size * 1.005
    assert 2.0 <= quick["link_bytes_via_server_x"] <= 2.005
    assert quick["bytes_over_lan_via_server"] == 0 and quick["network_bytes_via_server_x"] == pytest.approx(2.0, abs=0.005)
    link_mib_s = quick["uplink_mbit"] * 1e6 / 8 / MiB
    assert quick["upload_via_server_link_mib_s"] <= link_mib_s * 1.15, "the upload went faster than the link allows"


def test_a_direct_upload_crosses_the_lan_once_and_the_uplink_only_with_its_calls(quick):
    assert quick["direct_uploads"] is True, "the benchmark's server offers direct uploads (a browser endpoint is set)"
    size = quick["link_object_mib"] * MiB
    assert quick["bytes_over_link_direct"] < quick["bytes_over_link_via_server"] / 100
    assert 0 < quick["bytes_over_link_direct"] < 100_000, "the JSON calls to the server: plan, part URLs, complete"
    assert size < quick["bytes_over_lan_direct"] < size * 1.005
    assert quick["network_bytes_direct_x"] == pytest.approx(1.0, abs=0.005)
    assert quick["bytes_over_link_sdk"] == 0, "the SDK's upload from the desk never leaves the office"
    assert 0 < quick["upload_direct_median_ratio"] <= quick["upload_direct_ratio"] * 1.5
    assert quick["upload_direct_ratio"] > 0 and quick["upload_direct_mib_s"] > 0 and quick["upload_sdk_lan_mib_s"] > 0
    direct_s = quick["link_object_mib"] / quick["upload_direct_mib_s"]
    # plan and complete cross the uplink: at least two round trips of 2 x 20 ms, and less than the whole upload
    assert 0.08 <= quick["upload_direct_calls_s"] < direct_s


def test_the_second_training_read_of_a_version_is_a_cache_hit_that_downloads_nothing(quick):
    size = quick["link_object_mib"] * MiB
    assert size < quick["bytes_over_link_cache_miss"] < size * 1.005
    assert 0 < quick["bytes_over_link_cache_hit"] < 10_000, "a hit only asks the store (HEAD), no body"
    assert quick["cache_miss_s"] >= size / (quick["uplink_mbit"] * 1e6 / 8) * 0.85, "the miss came over the link"
    assert quick["cache_hit_speedup"] == pytest.approx(quick["cache_miss_s"] / quick["cache_hit_s"], rel=0.01)
    assert quick["cache_hit_speedup"] > 1
    assert len(quick["cache_hit_speedup_pairs"]) == quick["cache_rounds"] == 1  # --quick: one pair
    assert max(quick["cache_hit_speedup_pairs"]) >= quick["cache_hit_speedup"] * 0.99, "min(miss) / min(hit) never exceeds the best pair"
