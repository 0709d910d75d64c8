"""Known start histories for the warm-up tests (site zone Asia/Tokyo; 2026-12-14 is a Monday)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hybridhub.hub_ext.warmup.calendar import WorkCalendar
from hybridhub.hub_ext.warmup.history import StartRecord
from hybridhub.hub_ext.warmup.predict import Rule

TOKYO = ZoneInfo("Asia/Tokyo")
MONDAY = date(2026, 12, 14)
# the five working days before it, newest first: Fri 11, Thu 10, Wed 9, Tue 8, Mon 7
LAST_FIVE = [date(2026, 12, d) for d in (11, 10, 9, 8, 7)]
RULE = Rule(lookback_weeks=4, min_days=3, of_days=5, tolerance=timedelta(minutes=30), grace=timedelta(minutes=30))
CALENDAR = WorkCalendar()


def start(user: str, day: date, hhmm: str, profile: str = "gpu-a10", pool: str = "gpua10") -> StartRecord:
    h, m = map(int, hhmm.split(":"))
    return StartRecord(user, profile, pool, datetime(day.year, day.month, day.day, h, m, tzinfo=TOKYO), True, 400.0)


def at(day: date, hhmm: str, seconds: float = 0) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, h, m, tzinfo=TOKYO) + timedelta(seconds=seconds)


def nine_on_four_of_five(user: str = "alice") -> list[StartRecord]:
    """Starts near 09:00 on four of the last five working days (not on Thursday)."""
    return [start(user, d, t) for d, t in zip([LAST_FIVE[0], LAST_FIVE[2], LAST_FIVE[3], LAST_FIVE[4]],
                                               ["09:00", "09:10", "08:55", "09:05"])]
