"""The site's working days: weekdays (Mon–Fri by default) minus the configured holidays.

Japan's public holidays are not computed here; admins list them as dates
(``c.WarmupPolicy.holidays = ["2027-01-01", "2027-01-11", ...]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

MON_TO_FRI = frozenset(range(5))


@dataclass(frozen=True)
class WorkCalendar:
    workdays: frozenset[int] = MON_TO_FRI  # Monday=0 .. Sunday=6
    holidays: frozenset[date] = frozenset()

    @classmethod
    def from_config(cls, workdays, holidays) -> "WorkCalendar":
        return cls(frozenset(int(d) for d in workdays), frozenset(date.fromisoformat(str(h)) for h in holidays))

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.workdays and day not in self.holidays

    def next_working_day(self, after: date, limit_days: int = 366) -> date | None:
        """The first working day strictly after ``after`` (None if there is none within a year)."""
        for n in range(1, limit_days + 1):
            day = after + timedelta(days=n)
            if self.is_working_day(day):
                return day
        return None

    def working_days_before(self, day: date, count: int, not_before: date) -> list[date]:
        """Up to ``count`` working days before ``day`` (newest first), none earlier than ``not_before``."""
        out: list[date] = []
        current = day - timedelta(days=1)
        while len(out) < count and current >= not_before:
            if self.is_working_day(current):
                out.append(current)
            current -= timedelta(days=1)
        return out
