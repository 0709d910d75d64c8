"""The usage trace of benchmarks/warmup.py: its file format, and the seeded default generator.

Format: JSON Lines (UTF-8), one server session per line, any order::

    {"user": "user0", "profile": "gpu-a10",
     "start": "2026-11-04T09:07:00+09:00", "end": "2026-11-04T17:41:00+09:00",
     "busy": [["2026-11-04T09:20:00+09:00", "2026-11-04T11:02:00+09:00"], ...]}

``profile`` is a slug of hybridhub's profile catalog; ``start`` is the spawn request, ``end``
the server's stop; ``busy`` lists the periods with work running (kernels, training), each within
the session. Times are ISO 8601 with their zone offset (a time without one is an error). A
user's sessions must not overlap. Blank lines are ignored; anything else that does not parse
stops the run with the line number.

The default trace: a small team of GPU users in Tokyo, each with a habitual start time, who
start near it (Gaussian jitter, sigma 12 min) on working days (Monday to Friday minus
Japan's public holidays), are absent on some days, and stop their server in the evening.
Seeded: the same arguments give the same trace.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")
FIRST_DAY = date(2026, 11, 2)  # a Monday; the month holds two holidays (3 and 23 November)

# Japan's public holidays (国民の祝日, Cabinet Office list for 2026 and 2027, substitute holidays included)
JP_HOLIDAYS = tuple(date.fromisoformat(d) for d in (
    "2026-01-01", "2026-01-12", "2026-02-11", "2026-02-23", "2026-03-20", "2026-04-29", "2026-05-03",
    "2026-05-04", "2026-05-05", "2026-05-06", "2026-07-20", "2026-08-11", "2026-09-21", "2026-09-22",
    "2026-09-23", "2026-10-12", "2026-11-03", "2026-11-23",
    "2027-01-01", "2027-01-11", "2027-02-11", "2027-02-23", "2027-03-21", "2027-03-22", "2027-04-29",
    "2027-05-03", "2027-05-04", "2027-05-05", "2027-07-19", "2027-08-11", "2027-09-20", "2027-09-23",
    "2027-10-11", "2027-11-03", "2027-11-23",
))

# (profile, habitual start "HH:MM" local, probability of absence on a working day)
TEAM = (("gpu-a10", "09:00", 0.10), ("gpu-a10", "09:30", 0.15), ("gpu-a10", "10:15", 0.20),
        ("gpu-a10-large", "13:30", 0.25))
QUICK_TEAM = TEAM[:2]


class TraceError(ValueError):
    pass


@dataclass(frozen=True)
class Session:
    user: str
    profile: str
    start: datetime
    end: datetime
    busy: tuple[tuple[datetime, datetime], ...] = ()

    def to_json(self) -> dict:
        return {"user": self.user, "profile": self.profile, "start": self.start.isoformat(),
                "end": self.end.isoformat(), "busy": [[s.isoformat(), e.isoformat()] for s, e in self.busy]}

    @classmethod
    def from_json(cls, data: dict) -> "Session":
        def when(text) -> datetime:
            moment = datetime.fromisoformat(str(text))
            if moment.tzinfo is None:
                raise TraceError(f"{text!r} has no time zone offset")
            return moment

        start, end = when(data["start"]), when(data["end"])
        if end <= start:
            raise TraceError(f"end {data['end']} is not after start {data['start']}")
        busy = tuple((when(s), when(e)) for s, e in data.get("busy", []))
        if any(not (start <= s < e <= end) for s, e in busy):
            raise TraceError("a busy interval is not inside its session")
        return cls(str(data["user"]), str(data["profile"]), start, end, busy)


def write_trace(sessions: list[Session], path: str | Path) -> None:
    Path(path).write_text("".join(json.dumps(s.to_json()) + "\n" for s in sessions), encoding="utf-8")


def read_trace(path: str | Path) -> list[Session]:
    sessions = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            sessions.append(Session.from_json(json.loads(line)))
        except (ValueError, KeyError, TypeError) as error:
            raise TraceError(f"{path}:{number}: {error}") from None
    sessions.sort(key=lambda s: (s.start, s.user))
    last_end: dict[str, datetime] = {}
    for s in sessions:
        if s.user in last_end and s.start < last_end[s.user]:
            raise TraceError(f"sessions of {s.user} overlap at {s.start.isoformat()}")
        last_end[s.user] = s.end
    return sessions


def working_days(first: date, days: int, holidays=JP_HOLIDAYS) -> list[date]:
    out = [first + timedelta(days=n) for n in range(days)]
    return [d for d in out if d.weekday() < 5 and d not in holidays]


def generate(days: int = 30, team=TEAM, seed: int = 21, first: date = FIRST_DAY, tz: tzinfo = TOKYO) -> list[Session]:
    """The default trace: ``team`` over ``days`` days from ``first`` (see the module docstring)."""
    rng = random.Random(seed)
    sessions = []
    for index, (profile, habit, absent) in enumerate(team):
        hour, minute = map(int, habit.split(":"))
        for day in working_days(first, days):
            if rng.random() < absent:
                continue
            base = datetime(day.year, day.month, day.day, tzinfo=tz)
            start = base + timedelta(hours=hour, minutes=minute + round(rng.gauss(0, 12)))
            end = max(start + timedelta(hours=2), base + timedelta(hours=18, minutes=round(rng.gauss(0, 40))))
            busy, t = [], start + timedelta(minutes=rng.randrange(5, 25))
            while t < end - timedelta(minutes=20):
                stop = min(t + timedelta(minutes=rng.randrange(40, 150)), end)
                busy.append((t, stop))
                t = stop + timedelta(minutes=rng.choice((5, 10, 15, 25, 40, 60)))
            sessions.append(Session(f"user{index}", profile, start, end, tuple(busy)))
    sessions.sort(key=lambda s: (s.start, s.user))
    return sessions
