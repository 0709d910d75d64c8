"""Benchmark: tailing a job log by offset vs re-reading the whole log on every poll.

One real local pipeline (gitlab-ci-local 4.73.0 in the shell) runs a job that writes its log in
bursts. While it runs, the same poll loop asks the local backend for the log twice per tick:

* incremental: ``trace(offset=<last next_offset>)``, what the panel does: only new bytes;
* full re-read: ``trace(offset=0)``, the naive panel that fetches the whole log each time.

Both see the same run at the same moments; at the end the incremental chunks must add up to
exactly the full log (the run fails otherwise). Reported: bytes handed out, time spent in the
trace calls, and their ratios.

    .venv/bin/python benchmarks/pipelines.py            # ~60,000 log lines
    .venv/bin/python benchmarks/pipelines.py --quick    # ~12,000 lines, well under a minute

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hybridhub.lab_ext.pipelines.local_backend import LocalBackend

CI = """stages: [work]
chatty:
  stage: work
  script:
    - >
      for burst in $(seq 1 {bursts}); do
      seq 1 {lines} | sed "s/^/burst $burst line /;s/$/ \\x1b[32mok\\x1b[0m ........................................../";
      sleep {pause}; done
"""


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=B", "-c", "user.email=b@e", *args], cwd=cwd, check=True, capture_output=True)


async def read_all(backend: LocalBackend, pid: int) -> str:
    """The naive client: the whole log from byte 0 (in the server's chunk size)."""
    parts, offset = [], 0
    while True:
        part = await backend.trace(".", pid, 1, offset)
        parts.append(part["content"])
        if part["next_offset"] == offset:
            return "".join(parts)
        offset = part["next_offset"]


async def run(bursts: int, lines: int, pause: float, poll: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        git(root, "init", "-q", "-b", "main")
        (root / ".gitlab-ci.yml").write_text(CI.format(bursts=bursts, lines=lines, pause=pause))
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "bench")
        backend = LocalBackend(root, timeout=300)
        try:
            created = await backend.create(".", "main", [], None)
            pid = created["id"]
            offset, chunks = 0, []
            inc = {"bytes": 0, "seconds": 0.0, "polls": 0}
            full = {"bytes": 0, "seconds": 0.0, "polls": 0}
            started = time.perf_counter()
            while True:
                view = await backend.pipeline(".", pid)
                t0 = time.perf_counter()
                part = await backend.trace(".", pid, 1, offset)
                t1 = time.perf_counter()
                whole = {"content": await read_all(backend, pid)}
                t2 = time.perf_counter()
                inc["seconds"] += t1 - t0
                full["seconds"] += t2 - t1
                inc["bytes"] += len(part["content"].encode())
                full["bytes"] += len(whole["content"].encode())
                inc["polls"] += 1
                full["polls"] += 1
                chunks.append(part["content"])
                offset = part["next_offset"]
                if view["status"] not in ("pending", "running") and part["complete"]:
                    break
                await asyncio.sleep(poll)
            wall = time.perf_counter() - started
            final = await read_all(backend, pid)
            if view["status"] != "success":
                raise SystemExit(f"the benchmark pipeline ended {view['status']}: {view.get('error')}")
            if "".join(chunks) != final:
                raise SystemExit("incremental chunks do not add up to the log")
        finally:
            await backend.close()
    return {"log_bytes": len(final.encode()), "log_lines": final.count("\n"), "wall_seconds": round(wall, 2),
            "incremental": inc, "full_reread": full}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smaller log, well under a minute")
    args = parser.parse_args()
    bursts, lines = (12, 1000) if args.quick else (30, 2000)
    result = asyncio.run(run(bursts, lines, pause=0.25, poll=0.2))
    inc, full = result["incremental"], result["full_reread"]
    for name, row in (("incremental (offset)", inc), ("full re-read", full)):
        print(f"{name:>22}: {row['polls']:4d} polls, {row['bytes'] / 1e6:8.2f} MB handed out, {row['seconds'] * 1000:8.1f} ms in trace calls")
    summary = {
        "benchmark": "pipelines.log_tail",
        "quick": args.quick,
        **{k: result[k] for k in ("log_bytes", "log_lines", "wall_seconds")},
        "polls": inc["polls"],
        "incremental_bytes": inc["bytes"],
        "full_reread_bytes": full["bytes"],
        "incremental_ms": round(inc["seconds"] * 1000, 2),
        "full_reread_ms": round(full["seconds"] * 1000, 2),
        "bytes_ratio": round(full["bytes"] / max(inc["bytes"], 1), 2),
        "time_ratio": round(full["seconds"] / max(inc["seconds"], 1e-9), 2),
    }
    print(json.dumps(summary))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
