"""Prediction of the next working day's GPU starts and the warm windows they need."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime, timedelta, timezone

import pytest

from hybridhub.hub_ext.warmup.calendar import WorkCalendar
from hybridhub.hub_ext.warmup.history import StartHistory, StartRecord, record_start
from hybridhub.hub_ext.warmup.predict import likely_starts, windows
from hybridhub.hub_ext.warmup.settings import WarmupPolicy, lead_seconds
from hybridhub.spawner.coldstarts import ColdStartHistory
from hybridhub.spawner.profiles import ProfileCatalog

from .histories import CALENDAR, LAST_FIVE, MONDAY, RULE, TOKYO, at, nine_on_four_of_five, start

pytestmark = pytest.mark.warmup

LEAD = {"gpua10": 420.0, "gpua10large": 480.0}


def test_a_start_at_nine_on_four_of_five_working_days_warms_from_nine_minus_the_lead():
    likely = likely_starts(nine_on_four_of_five(), MONDAY, TOKYO, CALENDAR, RULE)
    assert [(s.user, s.profile, s.pool, s.at, s.days, s.of_days) for s in likely] == [
        ("alice", "gpu-a10", "gpua10", at(MONDAY, "09:00"), 4, 5)]
    kept, capped = windows(likely, LEAD, RULE, {"gpua10": 1})
    assert capped == []
    assert [(w.pool, w.start, w.end, w.users, w.nodes) for w in kept] == [
        ("gpua10", at(MONDAY, "08:53"), at(MONDAY, "09:30"), ["alice"], 1)]


def test_someone_who_came_once_or_twice_is_not_predicted():
    history = [start("bob", LAST_FIVE[1], "10:00")] + [start("carol", d, "13:00") for d in LAST_FIVE[:2]]
    assert likely_starts(history, MONDAY, TOKYO, CALENDAR, RULE) == []


def test_starts_far_apart_in_the_day_do_not_add_up():
    history = [start("dan", d, t) for d, t in zip(LAST_FIVE, ["08:00", "09:00", "10:00", "11:00", "12:00"])]
    assert likely_starts(history, MONDAY, TOKYO, CALENDAR, RULE) == []


def test_two_regular_times_of_one_person_give_two_starts():
    history = nine_on_four_of_five() + [start("alice", d, "14:00") for d in LAST_FIVE[:3]]
    assert [s.at for s in likely_starts(history, MONDAY, TOKYO, CALENDAR, RULE)] == [
        at(MONDAY, "09:00"), at(MONDAY, "14:00")]


def test_holidays_are_skipped_in_the_history_and_in_the_next_working_day():
    # Thursday the 10th is a holiday: erin's starts on it do not count, and the five working
    # days looked at reach back to Friday the 4th, when she did not start
    history = [start("erin", d, "11:00") for d in (LAST_FIVE[0], LAST_FIVE[1], LAST_FIVE[2])]
    assert [s.days for s in likely_starts(history, MONDAY, TOKYO, CALENDAR, RULE)] == [3]
    holiday = WorkCalendar.from_config([0, 1, 2, 3, 4], ["2026-12-10", "2026-12-14"])
    assert likely_starts(history, date(2026, 12, 15), TOKYO, holiday, RULE) == []
    assert holiday.next_working_day(date(2026, 12, 11)) == date(2026, 12, 15)
    assert holiday.working_days_before(date(2026, 12, 15), 5, date(2026, 11, 1)) == [
        date(2026, 12, d) for d in (11, 9, 8, 7, 4)]


def test_starts_older_than_the_lookback_do_not_count():
    old = [start("fay", MONDAY - timedelta(weeks=5, days=d), "09:00") for d in (3, 4, 5, 6, 7)]
    assert likely_starts(old, MONDAY, TOKYO, CALENDAR, RULE) == []


def test_overlapping_starts_of_a_pool_get_a_node_each_and_each_node_keeps_its_own_window():
    history = nine_on_four_of_five("alice") + nine_on_four_of_five("gina")[:3] + [
        start("hugo", d, "09:20") for d in LAST_FIVE[:3]]
    likely = likely_starts(history, MONDAY, TOKYO, CALENDAR, RULE)
    kept, capped = windows(likely, LEAD, RULE, {"gpua10": 3})
    # a GPU user pod takes a whole node: three people who may be there at once need three nodes, and
    # hugo's node is asked for 7 min before 09:20, not from alice's and gina's opening at 08:53
    assert [(w.start, w.end, w.users, w.nodes, w.lane) for w in kept] == [
        (at(MONDAY, "08:53"), at(MONDAY, "09:30"), ["alice"], 1, 0),
        (at(MONDAY, "08:53"), at(MONDAY, "09:30"), ["gina"], 1, 1),
        (at(MONDAY, "09:13"), at(MONDAY, "09:50"), ["hugo"], 1, 2)]
    assert capped == []


def test_a_later_start_reuses_a_node_whose_window_has_ended():
    history = nine_on_four_of_five("alice") + [start("jun", d, "09:40") for d in LAST_FIVE[:3]]
    kept, capped = windows(likely_starts(history, MONDAY, TOKYO, CALENDAR, RULE), LEAD, RULE, {"gpua10": 3})
    assert [(w.start, w.end, w.users, w.lane) for w in kept] == [
        (at(MONDAY, "08:53"), at(MONDAY, "09:30"), ["alice"], 0),
        (at(MONDAY, "09:33"), at(MONDAY, "10:10"), ["jun"], 0)]
    assert capped == []


def test_max_warm_nodes_makes_starts_share_a_node_and_says_how_many_were_left_out():
    history = nine_on_four_of_five("alice") + nine_on_four_of_five("gina") + [
        start("hugo", d, "09:20") for d in LAST_FIVE[:3]]
    kept, capped = windows(likely_starts(history, MONDAY, TOKYO, CALENDAR, RULE), LEAD, RULE, {"gpua10": 1})
    # one node, kept from the first opening to the last start's end: whoever comes first takes it
    assert [(w.start, w.end, w.users, w.nodes) for w in kept] == [
        (at(MONDAY, "08:53"), at(MONDAY, "09:50"), ["alice", "gina", "hugo"], 1)]
    assert [(c.window.users, c.wanted, c.allowed) for c in capped] == [(["gina"], 2, 1), (["hugo"], 2, 1)]
    kept, capped = windows(likely_starts(history, MONDAY, TOKYO, CALENDAR, RULE), LEAD, RULE, {"gpua10": 2})
    assert [(w.users, w.lane) for w in kept] == [(["alice", "hugo"], 0), (["gina"], 1)]
    assert [(c.window.users, c.wanted, c.allowed) for c in capped] == [(["hugo"], 3, 2)]
    kept, capped = windows(likely_starts(history, MONDAY, TOKYO, CALENDAR, RULE), LEAD, RULE, {"gpua10": 0})
    assert kept == [] and [(c.wanted, c.allowed) for c in capped] == [(1, 0)] * 3


def test_windows_of_different_pools_or_far_apart_stay_separate():
    history = nine_on_four_of_five("alice") + [
        start("ivan", d, "09:00", "gpu-a10-large", "gpua10large") for d in LAST_FIVE[:3]] + [
        start("jun", d, "15:00") for d in LAST_FIVE[:3]]
    kept, _ = windows(likely_starts(history, MONDAY, TOKYO, CALENDAR, RULE), LEAD, RULE,
                      {"gpua10": 1, "gpua10large": 1})
    assert [(w.pool, w.start, w.users) for w in kept] == [
        ("gpua10large", at(MONDAY, "08:52"), ["ivan"]), ("gpua10", at(MONDAY, "08:53"), ["alice"]),
        ("gpua10", at(MONDAY, "14:53"), ["jun"])]


def test_the_lead_is_the_pools_measured_cold_start_median(tmp_path):
    catalog = ProfileCatalog()
    pools = {n: p for n, p in catalog.pool_map().items() if p.has_gpu}
    coldstarts = ColdStartHistory(tmp_path / "coldstarts.json")
    for seconds in (300, 500, 400):
        coldstarts.record("gpua10", seconds)
    # measured median for gpua10; the configured usual time for a pool never measured
    assert lead_seconds(pools, coldstarts) == {"gpua10": 400.0, "gpua10large": 480.0}
    kept, _ = windows(likely_starts(nine_on_four_of_five(), MONDAY, TOKYO, CALENDAR, RULE),
                      lead_seconds(pools, coldstarts), RULE, {"gpua10": 1})
    assert kept[0].start == at(MONDAY, "09:00", seconds=-400)


def test_the_history_file_is_json_lines_in_the_site_zone_and_bounded(tmp_path):
    path = tmp_path / "warmup-starts.jsonl"
    history = StartHistory(path, keep_days=90)
    utc = datetime(2026, 9, 1, 0, 5, tzinfo=timezone.utc)
    record_start(history, "alice", "gpu-a10", "gpua10", utc, TOKYO, True, 412.04)
    line = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert line == {"user": "alice", "profile": "gpu-a10", "pool": "gpua10", "start": "2026-09-01T09:05:00+09:00",
                    "weekday": 1, "cold": True, "wait_seconds": 412.0}
    with path.open("a", encoding="utf-8") as f:
        f.write("{not json\n")
    later = datetime(2026, 12, 7, 9, 0, tzinfo=TOKYO)
    record_start(history, "bob", "gpu-a10", "gpua10", later, TOKYO, False, 20)
    # alice's start is 97 days older than bob's: gone; the damaged line is dropped on rewrite
    assert [(r.user, r.cold) for r in history.records()] == [("bob", False)]
    assert len(path.read_text(encoding="utf-8").splitlines()) == 1
    assert not (tmp_path / "warmup-starts.jsonl.tmp").exists()
    with pytest.raises(ValueError):
        record_start(history, "bob", "gpu-a10", "gpua10", datetime(2026, 12, 7, 9), TOKYO, True, 1)


def test_a_record_reads_back_as_it_was_written():
    record = start("alice", MONDAY, "09:00")
    assert StartRecord.from_json(json.loads(json.dumps(record.to_json()))) == record


def test_the_settings_build_the_rule_calendar_and_caps():
    policy = WarmupPolicy(timezone="Asia/Tokyo", holidays=["2027-01-01"], min_days=4, tolerance_minutes=15,
                          max_warm_nodes=2, max_warm_nodes_per_pool={"gpua10large": 0})
    assert policy.rule().min_days == 4 and policy.rule().tolerance == timedelta(minutes=15)
    assert not policy.calendar().is_working_day(date(2027, 1, 1))
    assert policy.max_nodes(ProfileCatalog().pool_map()) == {"gpua10": 2, "gpua10large": 0}
    # by default as many as the pool may have: each likely start its own node
    pools = ProfileCatalog().pool_map()
    assert WarmupPolicy().max_nodes(pools) == {n: p.max_nodes for n, p in pools.items() if p.has_gpu}
    assert WarmupPolicy(max_warm_nodes=9).max_nodes(pools) == WarmupPolicy().max_nodes(pools)  # never above it
    with pytest.raises(Exception, match="not a date"):
        WarmupPolicy(holidays=["1 January"])
    with pytest.raises(Exception, match="unknown time zone"):
        WarmupPolicy(timezone="Mars/Olympus")


def test_a_window_can_open_for_the_persons_earlier_starts_and_ends_as_before():
    # alice's near starts: 08:55, 09:00, 09:05, 09:10 (median_low 09:00); the 10th percentile (nearest
    # rank) of the four is 08:55, the 25th 08:55, the 50th 09:00 (the median: nothing changes)
    history = nine_on_four_of_five()
    early = dataclasses.replace(RULE, open_percentile=10)
    [s] = likely_starts(history, MONDAY, TOKYO, CALENDAR, early)
    assert (s.at, s.early) == (at(MONDAY, "09:00"), at(MONDAY, "08:55"))
    assert s.to_json()["opens_for"] == at(MONDAY, "08:55").isoformat()
    [w], _ = windows([s], LEAD, early, {"gpua10": 1})
    assert (w.start, w.end) == (at(MONDAY, "08:55", -420), at(MONDAY, "09:30"))  # lead before 08:55
    [median] = likely_starts(history, MONDAY, TOKYO, CALENDAR, RULE)
    assert median.opens_for is None and "opens_for" not in median.to_json()
    [w50], _ = windows([median], LEAD, RULE, {"gpua10": 1})
    assert w50.start == at(MONDAY, "09:00", -420) and w.hours > w50.hours
    # 0: the earliest near start
    late = [start("alice", d, "09:20") for d in LAST_FIVE[:3]] + [start("alice", LAST_FIVE[3], "08:50")]
    [first] = likely_starts(late, MONDAY, TOKYO, CALENDAR, dataclasses.replace(RULE, open_percentile=0))
    assert (first.at, first.early) == (at(MONDAY, "09:20"), at(MONDAY, "08:50"))


def test_open_percentile_is_a_setting_checked_for_range():
    assert WarmupPolicy().rule().open_percentile == 50  # the median, as before the setting
    assert WarmupPolicy(open_percentile=10).rule().open_percentile == 10
    with pytest.raises(Exception, match="open_percentile"):
        WarmupPolicy(open_percentile=101)
