"""Benchmark: culling decisions for many servers, hybridhub's culler vs jupyterhub-idle-culler.

A fleet of N servers (default 500; CPU and GPU profiles, some starting, some admins', some
busy) is served by an in-process stand-in of the hub REST API over real HTTP on loopback.
In the same run:

* ``idle_culler``: jupyterhub-idle-culler 2.x's own decision path (``cull_idle``: list users,
  judge each server by ``last_activity``, DELETE the culled ones);
* ``hybridhub``: one round of :class:`~hybridhub.hub_ext.culler.service.HybridCuller`
  (list, take every ready server's latest pushed report, decide, warn or stop, one log line
  each). Servers push their reports to the culler between rounds (every 30 s, and when work
  starts or ends); the round itself calls no user server;
* ``hybridhub_mock``: the same round over an in-memory ``fetch`` (no sockets: the cost of the
  policy, parsing and bookkeeping alone);
* ``reports``: the culler's report route over loopback HTTP (the fleet's N reports, each
  token checked with the hub's ``GET /user`` once, then from the cache): what the pushed
  reports cost the culler, spread over the report interval, not in the round;
* ``policy``: :func:`~hybridhub.hub_ext.culler.policy.decide` alone, decisions per second.

Both cullers must stop exactly the servers their signal says (checked).

    .venv/bin/python benchmarks/culling.py            # 2,000 servers, 5 repeats
    .venv/bin/python benchmarks/culling.py --quick    # 500 servers, 3 repeats, well under a minute

The last line printed is one JSON object with the timings and ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlparse

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # the Kubernetes stand-in of the trace replay lives in tests/

import jupyterhub_idle_culler  # noqa: E402
from tornado import web  # noqa: E402
from tornado.httpclient import AsyncHTTPClient, HTTPRequest, HTTPResponse  # noqa: E402
from tornado.httpserver import HTTPServer  # noqa: E402
from tornado.netutil import bind_sockets  # noqa: E402

from hybridhub.hub_ext.culler.activity import HubClient  # noqa: E402
from hybridhub.hub_ext.culler.policy import ActivityReport, Limits, ServerState, ServerView, Settings, decide  # noqa: E402
from hybridhub.hub_ext.culler.reports import IdentityCache, ReportHandler  # noqa: E402
from hybridhub.hub_ext.culler.service import HybridCuller  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from culling_trace import replay_all  # noqa: E402

NOW = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)
PROFILES = {"cpu": (3600, 12 * 3600), "gpu-a10": (1200, 8 * 3600), "gpu-a10-large": (900, 4 * 3600)}
PAGE = 200


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def fleet(n: int, seed: int = 5) -> tuple[list[dict], dict[str, dict]]:
    """User models (as the hub returns them) and each server's activity report."""
    rng = random.Random(seed)
    users, reports = [], {}
    for i in range(n):
        name = f"u{i:05d}"
        profile = rng.choice(list(PROFILES))
        started = NOW - timedelta(minutes=rng.randrange(5, 600))
        pending = "spawn" if rng.random() < 0.05 else None
        last_activity = NOW - timedelta(minutes=rng.randrange(0, 180))  # proxy traffic: tabs left open
        users.append({
            "kind": "user", "name": name, "admin": rng.random() < 0.03,
            "servers": {"": {
                "name": "", "ready": pending is None, "pending": pending, "url": f"/user/{name}/",
                "started": iso(started), "last_activity": iso(last_activity),
                "user_options": {"profile": profile},
            }},
        })
        busy = rng.random() < 0.3
        last_busy = None if rng.random() < 0.2 else NOW - timedelta(minutes=rng.randrange(0, 120))
        reports[name] = {
            "busy": busy, "reasons": ["1 of 1 kernel(s) executing"] if busy else [],
            "last_busy": iso(last_busy) if last_busy else None, "keepalive_at": None,
            "browser_connected": False, "saved_at": None, "warning": None,
        }
    return users, reports


class FakeHub:
    """Answers the hub API (users, stops, token identities); counts what each culler asked for."""

    def __init__(self, users: list[dict], reports: dict[str, dict], base: str) -> None:
        self.users, self.reports, self.base = users, reports, base
        self.deletes: list[str] = []
        self.identities = 0

    def handle(self, method: str, url: str, authorization: str = "") -> tuple[int, dict | list | None]:
        parsed = urlparse(url)
        path, query = parsed.path, parse_qs(parsed.query)
        if path in ("/hub/api", "/hub/api/"):
            return 200, {"version": "6.1.1"}
        if path == "/hub/api/users" and method == "GET":
            offset, limit = int(query.get("offset", ["0"])[0]), int(query.get("limit", [str(PAGE)])[0])
            items = self.users[offset:offset + limit]
            following = offset + limit < len(self.users)
            nxt = {"offset": offset + limit, "limit": limit, "url": f"{self.base}/hub/api/users?state=ready&offset={offset + limit}&limit={limit}"}
            return 200, {"items": items, "_pagination": {"offset": offset, "limit": limit, "total": len(self.users), "next": nxt if following else None}}
        if path == "/hub/api/user" and method == "GET":  # a server token: "server-<user>"
            self.identities += 1
            user = authorization.removeprefix("token server-")
            return 200, {"kind": "user", "name": user, "scopes": [f"access:servers!server={user}/", f"users:activity!user={user}"]}
        parts = path.strip("/").split("/")
        if method == "DELETE" and parts[:3] == ["hub", "api", "users"]:
            self.deletes.append(parts[3])
            return 204, None
        if parts[0] == "user":
            raise AssertionError(f"a culler called into a user server: {method} {path}")
        return 404, {"message": f"not in the stand-in: {method} {path}"}


class StandInHandler(web.RequestHandler):
    def initialize(self, hub: FakeHub) -> None:
        self.hub = hub

    def _answer(self):
        status, body = self.hub.handle(self.request.method, self.request.full_url(), self.request.headers.get("Authorization", ""))
        self.set_status(status)
        if body is not None:
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(body))
        else:
            self.finish()

    get = post = delete = _answer


def in_memory_fetch(hub: FakeHub):
    """A ``fetch`` for HubClient that answers from the stand-in without sockets."""

    async def fetch(request: HTTPRequest, raise_error: bool = True) -> HTTPResponse:
        status, body = hub.handle(request.method, request.url, request.headers.get("Authorization", ""))
        payload = json.dumps(body).encode() if body is not None else b""
        return HTTPResponse(request, status, buffer=io.BytesIO(payload))

    return fetch


def quiet_logger(name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.handlers = [logging.StreamHandler(io.StringIO())]  # formatted, as in production, then dropped
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


def make_culler(api_url: str) -> HybridCuller:
    culler = HybridCuller(api_url=api_url, api_token="bench", concurrency=10, warn_before_seconds=0)
    culler.initialize([])
    culler.log = quiet_logger("bench.hybridhub")
    culler.started_at = NOW - timedelta(hours=1)
    return culler


def push_reports(culler: HybridCuller, reports: dict[str, dict]) -> None:
    """The fleet's reports, as the servers pushed them before the round."""
    for name, report in reports.items():
        culler.book.put(name, ActivityReport.from_json(report))


async def time_report_route(culler: HybridCuller, hub_client: HubClient, reports: dict[str, dict]) -> float:
    """Every server of the fleet POSTs its report to the culler's route over loopback HTTP."""
    identify = IdentityCache(hub_client.identify, time.monotonic, 60.0)
    sockets = bind_sockets(0, "127.0.0.1")
    url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}/services/hybridhub-culler/report"
    server = HTTPServer(web.Application([(r"/services/hybridhub-culler/report", ReportHandler, {"book": culler.book, "identify": identify})]))
    server.add_sockets(sockets)
    http = AsyncHTTPClient(force_instance=True, max_clients=10)
    try:
        async def post(name: str, report: dict) -> None:
            body = json.dumps({"user": name, "server": "", "report": report})
            response = await http.fetch(url, method="POST", body=body, headers={"Authorization": f"token server-{name}"})
            assert response.code == 200
        start = time.perf_counter()
        await asyncio.gather(*(post(name, report) for name, report in reports.items()))
        return time.perf_counter() - start
    finally:
        http.close()
        server.stop()


async def time_idle_culler(base: str, hub: FakeHub) -> float:
    hub.deletes.clear()
    start = time.perf_counter()
    await jupyterhub_idle_culler.cull_idle(
        url=f"{base}/hub/api", api_token="bench", inactive_limit=3600, logger=quiet_logger("bench.idle"),
        concurrency=10, cull_admin_users=False,
    )
    return time.perf_counter() - start


async def time_hybridhub(culler: HybridCuller, client: HubClient, hub: FakeHub, reports: dict[str, dict]) -> float:
    hub.deletes.clear()
    culler.states.clear()
    push_reports(culler, reports)
    start = time.perf_counter()
    await culler.cull_round(client)
    return time.perf_counter() - start


def time_policy(users: list[dict], reports: dict[str, dict], repeat: int) -> float:
    views = [ServerView.from_model(u, "", u["servers"][""]) for u in users]
    parsed = [ActivityReport.from_json(reports[v.user]) for v in views]
    limits = {slug: Limits(slug, *values) for slug, values in PROFILES.items()}
    settings = Settings(warn_before_seconds=0)
    start = time.perf_counter()
    for _ in range(repeat):
        for view, report in zip(views, parsed):
            decide(view, limits[view.profile], report, NOW, ServerState(), settings)
    return (time.perf_counter() - start) / (repeat * len(views))


async def run(n: int, repeat: int) -> dict:
    users, reports = fleet(n)
    sockets = bind_sockets(0, "127.0.0.1")
    base = f"http://127.0.0.1:{sockets[0].getsockname()[1]}"
    hub = FakeHub(users, reports, base)
    server = HTTPServer(web.Application([(r".*", StandInHandler, {"hub": hub})]))
    server.add_sockets(sockets)

    # both judge "now" as the fleet's reference time
    jupyterhub_idle_culler.utcnow = lambda: NOW
    import hybridhub.hub_ext.culler.service as service
    service.utcnow = lambda: NOW

    culler = make_culler(f"{base}/hub/api")
    client = HubClient(f"{base}/hub/api", "bench", concurrency=10)
    mock_hub = FakeHub(users, reports, "http://mock")
    mock_client = HubClient("http://mock/hub/api", "bench", concurrency=10, fetch=in_memory_fetch(mock_hub))
    try:
        idle, ours, mocked, ingest = [], [], [], []
        for _ in range(repeat):
            idle.append(await time_idle_culler(base, hub))
            idle_deletes = sorted(hub.deletes)
            ours.append(await time_hybridhub(culler, client, hub, reports))
            our_deletes = sorted(hub.deletes)
            mocked.append(await time_hybridhub(culler, mock_client, mock_hub, reports))
            ingest.append(await time_report_route(make_culler(f"{base}/hub/api"), client, reports))
    finally:
        await client.aclose()
        await mock_client.aclose()
        server.stop()

    expected_idle = sorted(
        u["name"] for u in users
        if u["servers"][""]["ready"]  # its cull_admin_users only concerns deleting users
        and (NOW - datetime.fromisoformat(u["servers"][""]["last_activity"].replace("Z", "+00:00"))).total_seconds() >= 3600
    )
    assert idle_deletes == expected_idle, "idle-culler stopped other servers than its rule says"
    decisions = culler.decisions.latest.values()
    expected_ours = sorted(d["user"] for d in decisions if d["action"] == "cull")
    assert our_deletes == expected_ours and sorted(mock_hub.deletes) == expected_ours, "hybridhub stopped other servers than it decided"
    policy_seconds = time_policy(users, reports, repeat=max(1, 20000 // n))

    med = statistics.median
    return {
        "benchmark": "culling",
        "servers": n,
        "repeat": repeat,
        "idle_culler_round_s": round(med(idle), 4),
        "hybridhub_round_s": round(med(ours), 4),
        "hybridhub_mock_round_s": round(med(mocked), 4),
        "idle_culler_servers_per_s": round(n / med(idle)),
        "hybridhub_servers_per_s": round(n / med(ours)),
        "hybridhub_mock_servers_per_s": round(n / med(mocked)),
        "policy_decisions_per_s": round(1 / policy_seconds),
        "reports_ingest_s": round(med(ingest), 4),
        "reports_per_s": round(n / med(ingest)),
        "report_route_share_of_30s_interval": round(med(ingest) / 30, 4),
        "ratio_hybridhub_vs_idle_culler_time": round(med(ours) / med(idle), 3),
        "ratio_mock_vs_idle_culler_time": round(med(mocked) / med(idle), 3),
        "requests_per_server_idle_culler": round((n / PAGE + 1 + len(idle_deletes)) / n, 3),
        "requests_per_server_hybridhub": round((n / PAGE + 1 + len(our_deletes)) / n, 3),
        "hub_identity_lookups_per_report_cold_cache": round(hub.identities / (repeat * n), 3),
        "culled_idle_culler": len(idle_deletes),
        "culled_hybridhub": len(our_deletes),
        "culled_both": len(set(idle_deletes) & set(our_deletes)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 servers, 3 repeats")
    parser.add_argument("--servers", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument("--no-trace", action="store_true", help="skip the month trace replay")
    args = parser.parse_args(argv)
    n = args.servers or (500 if args.quick else 2000)
    repeat = args.repeat or (3 if args.quick else 5)
    result = asyncio.run(run(n, repeat))
    if not args.no_trace:
        started = time.perf_counter()
        trace = asyncio.run(replay_all())
        result.update({"trace_" + key: value for key, value in trace.items()})
        result["trace_seconds"] = round(time.perf_counter() - started, 1)
        result["trace_hybridhub_below_z2jh"] = trace["waste_hybridhub"] < trace["waste_z2jh_default"]
        result["trace_hybridhub_within_1_15"] = trace["waste_hybridhub"] <= 1.15
        print(f"month trace: waste none {trace['waste_none']}, z2jh default {trace['waste_z2jh_default']}, "
              f"hybridhub {trace['waste_hybridhub']}; month cost (yen) {trace['month_cost_yen_none']} / "
              f"{trace['month_cost_yen_z2jh_default']} / {trace['month_cost_yen_hybridhub']}", file=sys.stderr)
    print(f"{n} servers: idle-culler {result['idle_culler_round_s']} s/round, hybridhub {result['hybridhub_round_s']} s/round "
          f"({result['ratio_hybridhub_vs_idle_culler_time']}x), without sockets {result['hybridhub_mock_round_s']} s; "
          f"{n} pushed reports take the culler {result['reports_ingest_s']} s ({result['reports_per_s']}/s); "
          f"policy alone {result['policy_decisions_per_s']} decisions/s", file=sys.stderr)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
