"""Finding the pipeline a launch started when GitLab's answer was lost.

A launch sends only the variables the user set: a hidden marker variable would make every launch
"a pipeline with variables", which projects that restrict pipeline variables refuse. So a
launch remembers what identifies its pipeline without one: the ref, the commit the ref pointed
to just before the request, the user, and the time window in which GitLab received it. A retry
of the same launch (same request id) looks for a pipeline with that ref, sha, user and source
``api`` created in the window, and takes the oldest one no other launch has claimed.

Clocks: the window is measured on this server's clock and compared with GitLab's ``created_at``,
so it is widened by :data:`CLOCK_SKEW` on both sides. Two lost launches of the same ref and commit
by the same user within that margin cannot be told apart; each claims a different pipeline.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

CLOCK_SKEW = 120.0  # seconds of disagreement tolerated between this server's clock and GitLab's


@dataclass
class Attempt:
    """What identifies the pipeline of one launch."""

    ref: str
    sha: str
    username: str
    since: float = field(default_factory=time.time)
    until: float | None = None  # when the answer was found lost

    def query(self) -> dict:
        """``GET /projects/:id/pipelines`` filters (documented in GitLab's pipelines API)."""
        return {"ref": self.ref, "sha": self.sha, "username": self.username, "source": "api",
                "order_by": "id", "sort": "desc", "per_page": 20}  # fmt: skip


def _timestamp(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def match(pipelines: list[dict], attempt: Attempt, claimed: set[int]) -> int | None:
    """The id of the pipeline ``attempt`` started, from a list answer (PipelineBasic items)."""
    until = attempt.until if attempt.until is not None else time.time()
    found = []
    for p in pipelines:
        created = _timestamp(p.get("created_at"))
        if created is None or int(p["id"]) in claimed:
            continue
        if p.get("ref") != attempt.ref or p.get("sha") != attempt.sha:
            continue
        if attempt.since - CLOCK_SKEW <= created <= until + CLOCK_SKEW:
            found.append(int(p["id"]))
    return min(found) if found else None
