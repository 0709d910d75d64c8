"""The admin console as a real JupyterHub service, next to the real culler.

The hub starts ``python -m hybridhub.hub_ext.console`` with the role the chart gives it
(list:services, read:services, access to the culler and custom:hybridhub-culler:read). The cost
figures come from the summary file the budget guard reads (``c.BudgetGuard.summary_path``),
written here with the cost service's own ``build_summary`` and ``JsonStore`` (the cost service
itself needs a cluster; tests/cost/test_hub_service.py runs it). Every user may reach the console
(``access:services``), so bob's 403 is the console's own decision.
"""

from __future__ import annotations

import re
import sys
import textwrap
import time
from datetime import datetime, timezone
from fractions import Fraction as F
from pathlib import Path

import pytest
from markupsafe import escape

from hybridhub.hub_ext.console.i18n import EN, JA
from hybridhub.hub_ext.cost.budget import FixedCosts
from hybridhub.hub_ext.cost.ledger import HOUR, to_micros
from hybridhub.hub_ext.cost.recorder import CostRecorder
from hybridhub.hub_ext.cost.store import JsonStore
from hybridhub.hub_ext.cost.summary import build_summary
from hybridhub.hub_ext.cost.transfer import GB, Prices, Report, TransferBook, month_figures
from hybridhub.hub_ext.demo.ports import free_ports
from hybridhub.hub_ext.doctor.i18n import text as doctor_text
from hybridhub.hub_ext.doctor.run import CHECKS
from tests.harness.hub import ADMIN_PASSWORD, USER_PASSWORD, running_hub
from tests.hubclient import login, start_server

pytestmark = pytest.mark.cost

PREFIX = "services/hybridhub-console/"


def hub_config(workdir: Path) -> str:
    console, culler = free_ports(2)
    return textwrap.dedent(f"""
        import sys
        c.JupyterHub.services += [
            {{"name": "hybridhub-culler", "url": "http://127.0.0.1:{culler}",
              "command": [sys.executable, "-m", "hybridhub.hub_ext.culler", "--interval=1"],
              "oauth_no_confirm": True}},
            {{"name": "hybridhub-console", "url": "http://127.0.0.1:{console}",
              "command": [sys.executable, "-m", "hybridhub.hub_ext.console",
                          "--hub-config={workdir / 'jupyterhub_config.py'}", "--ConsoleService.doctor_live=False"],
              "oauth_no_confirm": True, "oauth_client_allowed_scopes": ["admin-ui"]}},
        ]
        c.JupyterHub.custom_scopes = {{"custom:hybridhub-culler:read": {{"description": "Read the culler's decisions."}}}}
        c.JupyterHub.load_roles += [
            {{"name": "hybridhub-culler", "scopes": ["list:users", "read:users:name", "read:servers", "delete:servers"],
              "services": ["hybridhub-culler"]}},
            {{"name": "hybridhub-console", "scopes": ["list:services", "read:services",
              "access:services!service=hybridhub-culler", "custom:hybridhub-culler:read"],
              "services": ["hybridhub-console"]}},
            {{"name": "user", "scopes": ["self", "access:services"]}},
        ]
        c.BudgetGuard.summary_path = "{workdir / 'cost-summary.json'}"
    """)


def write_summary(path: Path) -> dict:
    """What the cost service writes: this month, the CPU pool up since the month's start."""
    now = datetime.now(timezone.utc)
    start = to_micros(datetime(now.year, now.month, 1, tzinfo=timezone.utc))
    rec = CostRecorder({"cpu": F("11.52")}, FixedCosts(F("3.36"), F("0.67"), 2, F(200), "JPY"))
    rec.node_up(start, "cpu", "aks-cpu-0")
    summary = build_summary(rec, max(to_micros(now), start + HOUR), F(100000))
    # the month's measured data transfer, as cost/service.py _build_summary adds it
    book = TransferBook()
    book.record(f"{now:%Y-%m}", Report("r1", "alice", {"upload_proxied": 2 * GB, "direct_upload": GB}))
    summary["transfer"] = {**month_figures(book, f"{now:%Y-%m}", Prices(F("13.05")), "JPY"), "other_per_month": "200.00"}
    JsonStore(str(path)).save(summary)
    return summary


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("console-hub")
    summary = write_summary(workdir / "cost-summary.json")
    with running_hub(workdir, hub_config(workdir), users=("alice", "bob")) as h:
        h.summary = summary
        yield h


def page(session, hub, lang="en", **kw):
    return session.session.get(hub.url + PREFIX, timeout=30,
                               headers={"Accept-Language": "ja-JP,ja;q=0.9" if lang == "ja" else "en-US,en;q=0.9"}, **kw)


def wait_for_page(session, hub, needle: str, lang="en", timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        r = page(session, hub, lang)
        if r.status_code == 200 and needle in r.text:
            return r
        assert time.monotonic() < deadline, (r.status_code, r.text[-2000:], hub.log()[-3000:])
        time.sleep(0.5)


def test_admin_sees_doctor_cost_and_culler_decisions_in_the_hubs_page(hub):
    admin = login(hub.url, "admin", ADMIN_PASSWORD)
    start_server(login(hub.url, "alice", USER_PASSWORD), "alice")
    # the doctor's first run (a worker thread) and a culler round that judged alice's server
    r = wait_for_page(admin, hub, "alice")
    r = wait_for_page(admin, hub, doctor_text("en", "title_profile-list"))
    html = r.text
    assert '<html lang="en">' in html and 'id="dark-theme-toggle"' in html
    assert '/hub/static/css/style.min.css' in html and '/hub/admin"' in html  # JupyterHub's frame, Admin for admins
    assert re.search(r'class="dropdown-item" href="/services/hybridhub-culler/">hybridhub-culler<', html)
    for name, _ in CHECKS:
        assert str(escape(doctor_text("en", f"title_{name}"))) in html, name
    assert str(hub.workdir / "jupyterhub_config.py") in html  # the doctor ran on the hub's own config file
    assert EN["no_culler"].split("(")[0] not in html and EN["action_keep"] in html
    assert "cpu" in html and "<svg" in html and "¥" in html
    # the node up now, since when and why (no server on it: idle)
    assert "<code>aks-cpu-0</code> up since" in html and str(escape(EN["node_idle"])) in html
    assert 'href="/services/hybridhub-cost/api/summary.csv"' in html
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "'unsafe-inline'" not in csp and "'sha256-" in csp
    assert r.headers["Cache-Control"] == "no-store"

    ja = page(admin, hub, "ja")
    assert ja.status_code == 200 and '<html lang="ja">' in ja.text and JA["title"] in ja.text
    assert str(escape(doctor_text("ja", "title_profile-list"))) in ja.text and EN["doctor"] not in ja.text


@pytest.mark.storage
def test_the_cost_section_shows_the_months_data_transfer_and_links_its_page(hub):
    """The summary file's ``transfer`` (issue 22) through the console's handler: 2 GB through a
    user server (2 GB in, 2 GB out at 13.05 yen), 1 GB uploaded directly (2 GB of crossings saved)."""
    admin = login(hub.url, "admin", ADMIN_PASSWORD)
    html = wait_for_page(admin, hub, 'id="console-transfer"').text
    assert '<td class="text-end" id="transfer-gb-in">2.0 GB</td>' in html
    assert '<td class="text-end" id="transfer-gb-out">2.0 GB</td>' in html
    assert 'id="transfer-cost">¥26.10</td>' in html
    assert "Saved by direct transfers and the cache: 2.0 GB (¥13.05), 33.3 % of the crossings." in html
    assert 'href="/services/hybridhub-cost/transfer" id="transfer-details"' in html
    ja = page(admin, hub, "ja").text
    assert 'id="transfer-cost">26.10 円</td>' in ja and "クラウドとオフィスの間のデータ転送" in ja


def test_a_user_gets_the_consoles_403_in_her_language(hub):
    bob = login(hub.url, "bob", USER_PASSWORD)
    r = page(bob, hub, "ja")
    assert r.status_code == 403 and JA["forbidden"] in r.text and '<html lang="ja">' in r.text
    assert JA["doctor"] not in r.text and "<svg" not in r.text and "alice" not in r.text
    en = page(bob, hub)
    assert en.status_code == 403 and EN["forbidden"] in en.text


def test_bad_query_is_a_json_400(hub):
    admin = login(hub.url, "admin", ADMIN_PASSWORD)
    r = admin.session.get(hub.url + PREFIX + "?debug=1", timeout=30)
    assert r.status_code == 400 and r.json()["reason"] == "unknown_query" and "debug" in r.json()["message"]


def test_the_cullers_own_page_sends_people_to_the_console(hub):
    admin = login(hub.url, "admin", ADMIN_PASSWORD)
    r = admin.session.get(hub.url + "services/hybridhub-culler/", timeout=30, allow_redirects=False)
    if r.status_code == 302 and "oauth" in r.headers["Location"]:  # first visit: the hub's OAuth round trip
        r = admin.session.get(hub.url + "services/hybridhub-culler/decisions", timeout=30)
        assert r.status_code == 200
        r = admin.session.get(hub.url + "services/hybridhub-culler/", timeout=30, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == "/services/hybridhub-console/"
    # a user's token may not read the decisions (the console's role may)
    bob = login(hub.url, "bob", USER_PASSWORD)
    assert bob.session.get(hub.url + "services/hybridhub-culler/decisions", timeout=30).status_code == 403
