"""The simulated clocks: a fast one for real clients, a manual one for exact tests."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.kube_standin.clock import FastClock, ManualClock, rfc3339

pytestmark = pytest.mark.kube


async def test_fast_clock_runs_a_working_day_in_a_fraction_of_a_second():
    clock = FastClock(speed=8 * 3600 / 0.4, start=0)   # 8 simulated hours per 0.4 real seconds
    fired = []
    # call_at, not call_later: at this speed a busy machine's 100 µs between two calls is
    # 7 simulated seconds, so a due time computed from now() would differ from run to run.
    clock.call_at(8 * 3600, lambda due: fired.append(("end", due)))
    clock.call_at(3600, lambda due: fired.append(("hour", due)))
    cancelled = clock.call_later(2 * 3600, lambda due: fired.append(("cancelled", due)))
    cancelled.cancel()
    real_start = time.monotonic()
    while len(fired) < 2:
        await asyncio.sleep(0.01)
    elapsed = time.monotonic() - real_start
    assert [name for name, _ in fired] == ["hour", "end"]
    assert [due for _, due in fired] == [3600, 8 * 3600]  # callbacks get their exact due time
    assert 0.35 < elapsed < 1.5
    assert clock.now() >= 8 * 3600


async def test_manual_clock_fires_in_order_at_exact_times():
    clock = ManualClock(start=1000)
    seen = []
    clock.call_at(1010, lambda due: seen.append((due, clock.now())))
    clock.call_at(1005, lambda due: (seen.append((due, clock.now())),
                                     clock.call_later(2, lambda d: seen.append((d, clock.now())))))
    clock.call_at(1000, lambda due: seen.append((due, clock.now())))   # due now: runs on the next loop turn
    await asyncio.sleep(0)
    assert seen == [(1000, 1000)]
    await clock.advance(9.999)
    assert seen == [(1000, 1000), (1005, 1005), (1007, 1007)]
    await clock.advance(0.001)
    assert seen[-1] == (1010, 1010) and clock.now() == 1010
    assert clock.pending() == []
    with pytest.raises(ValueError):
        await clock.advance(-1)


def test_rfc3339():
    assert rfc3339(0) == "1970-01-01T00:00:00Z"
    assert rfc3339(1_800_000_000.9) == "2027-01-15T08:00:00Z"
