"""A site's own month as a trace for benchmarks/warmup.py, from what the hub already records.

* the cost service's state (``c.CostService.state_path``, default ``hybridhub-cost.json``): every
  server session with its node, from the time its pod was bound to a node to its stop;
* the spawner's GPU start history (``c.WarmupPolicy.history_file``, default ``warmup-starts.jsonl``):
  every GPU start with the time it was asked for and how long it waited.

A session's trace ``start`` is the spawn request: for a GPU session, the latest recorded start of the
same user and profile at most ``MATCH_SECONDS`` before the pod was bound (the history's start is the
request); for a CPU session, or a GPU one without a record, the time its pod was bound. Its ``end`` is
the stop. ``busy`` stays empty (the replay does not use it). Left out, and counted: sessions still
running, named servers (a trace has one server per person) and sessions that would overlap the
person's previous one.

    .venv/bin/python benchmarks/warmup_trace_from_hub.py --cost-state hybridhub-cost.json \\
        --starts warmup-starts.jsonl --timezone Asia/Tokyo --out month.jsonl
    .venv/bin/python benchmarks/warmup.py --trace month.jsonl

On AKS both files are in the hub pod's ``/srv/jupyterhub`` (the hub's working directory and
volume): copy them out first, ``kubectl exec deploy/hub --namespace jhub -- cat
/srv/jupyterhub/hybridhub-cost.json > hybridhub-cost.json`` (and the same for the start history).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, tzinfo
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hybridhub.hub_ext.cost.attribution import ServerSession  # noqa: E402
from hybridhub.hub_ext.cost.recorder import CostRecorder  # noqa: E402
from hybridhub.hub_ext.cost.store import JsonStore, StoreError  # noqa: E402
from hybridhub.hub_ext.cost.warmup_loop import from_micros  # noqa: E402
from hybridhub.spawner.starts import StartHistory, StartRecord, site_zone  # noqa: E402
from warmup_trace import Session, write_trace  # noqa: E402

MATCH_SECONDS = 3600  # a GPU start's request is at most this long before its pod is bound


def trace_sessions(sessions: list[ServerSession], starts: list[StartRecord], tz: tzinfo) -> tuple[list[Session], dict]:
    """The trace's sessions, earliest first, and how many of each kind were left out."""
    left_out = {"running": 0, "named_server": 0, "overlapping": 0}
    unused = sorted(starts, key=lambda r: r.start)
    out: list[Session] = []
    last_end: dict[str, datetime] = {}
    for s in sorted(sessions, key=lambda s: s.start):
        if s.stop is None:
            left_out["running"] += 1
            continue
        if s.server_name:
            left_out["named_server"] += 1
            continue
        bound, end = from_micros(s.start).astimezone(tz), from_micros(s.stop).astimezone(tz)
        mine = [r for r in unused if r.user == s.user and r.profile == s.profile
                and 0 <= (bound - r.start).total_seconds() <= MATCH_SECONDS]
        start = bound
        if mine:
            unused.remove(mine[-1])
            start = mine[-1].start.astimezone(tz)
        if end <= start or (s.user in last_end and start < last_end[s.user]):
            left_out["overlapping"] += 1
            continue
        last_end[s.user] = end
        out.append(Session(s.user, s.profile, start, end))
    return out, left_out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cost-state", required=True, help="the cost service's state file (hybridhub-cost.json)")
    parser.add_argument("--starts", required=True, help="the GPU start history (warmup-starts.jsonl)")
    parser.add_argument("--timezone", default="UTC", help="the site's zone, as c.WarmupPolicy.timezone")
    parser.add_argument("--out", required=True, help="the trace to write (JSON Lines)")
    args = parser.parse_args(argv)
    try:
        tz = site_zone(args.timezone)
        data = JsonStore(args.cost_state).load()
        if data is None:
            raise ValueError(f"{args.cost_state}: no such file")
        recorder = CostRecorder.from_dict(data["recorder"])
        if not Path(args.starts).is_file():
            raise ValueError(f"{args.starts}: no such file")
        starts = StartHistory(args.starts).records()
    except (StoreError, ValueError, KeyError, TypeError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sessions, left_out = trace_sessions(recorder.sessions(), starts, tz)
    write_trace(sessions, args.out)
    print(json.dumps({"sessions": len(sessions), "left_out": left_out, "out": args.out}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
