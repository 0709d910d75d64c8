"""Measured data transfer in the cost service (cost/transfer.py, the service's e, ``/api/transfer``).

The crossings follow Azure's bandwidth pricing (https://azure.microsoft.com/pricing/details/bandwidth/:
inbound data transfer free, outbound billed per GB) in the reference layout (servers and training
in the cloud, people and the store in the office): docs/cost.md, "Data transfer". The routes run
in-process as tests/cost/test_warmup_page.py does (the hub's answer about a token is a fixed model
per test token); tests/cost/test_transfer_hub.py runs them under a real JupyterHub.
"""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from hybridhub.hub_ext.cost import web as cost_web
from hybridhub.hub_ext.cost.i18n import MESSAGES
from hybridhub.hub_ext.cost.service import CostService
from hybridhub.hub_ext.cost.transfer import (GB, CROSSINGS, Prices, Report, ReportError, TransferBook, crossings,
                                             measured_cost, month_figures, parse_report, refusal)
from hybridhub.hub_ext.openapi import cost_description
from tests.api.test_hub_side import app_paths

from .conftest import service_config

pytestmark = [pytest.mark.cost, pytest.mark.storage]

PREFIX = "/services/hybridhub-cost/"


def test_each_path_crosses_the_cloud_edge_as_the_reference_layout_says():
    # upload via the server: in (browser -> cloud) and out (cloud -> store); direct: none, both saved
    assert crossings({"upload_proxied": 10}) == {"ingress": 10, "egress": 10, "saved_ingress": 0, "saved_egress": 0}
    assert crossings({"download_proxied": 10})["egress"] == 10
    assert crossings({"workspace_in": 7, "training_read": 3}) == {"ingress": 10, "egress": 0, "saved_ingress": 0, "saved_egress": 0}
    assert crossings({"workspace_out": 5})["egress"] == 5
    assert crossings({"direct_upload": 4, "direct_download": 1}) == {"ingress": 0, "egress": 0, "saved_ingress": 5, "saved_egress": 5}
    assert crossings({"cache_saved": 9}) == {"ingress": 0, "egress": 0, "saved_ingress": 9, "saved_egress": 0}
    assert set(CROSSINGS) == {"upload_proxied", "download_proxied", "workspace_in", "workspace_out",
                              "direct_upload", "direct_download", "training_read", "cache_saved"}


def test_the_cost_is_egress_gb_times_the_price_exactly():
    book = TransferBook()
    book.record("2026-12", Report("a", "alice", {"upload_proxied": 3 * GB, "workspace_in": GB}))
    book.record("2026-12", Report("b", "bob", {"direct_upload": 2 * GB, "cache_saved": GB // 2}))
    prices = Prices(egress_per_gb=Fraction("17.5"))
    assert measured_cost(book, "2026-12", prices) == Fraction("52.5")  # 3 GB out (alice's upload's trip to the store)
    f = month_figures(book, "2026-12", prices, "JPY")
    assert (f["gb_in"], f["gb_out"], f["cost"]) == ("4.000", "3.000", "52.50")
    # saved: bob's direct upload would have been 2 GB in + 2 GB out, the cache hit 0.5 GB in
    assert (f["saved_gb"], f["saved_cost"]) == ("4.500", "35.00")
    assert f["saved_percent"] == "39.1"  # 4.5 of 11.5 GB of crossings
    assert [u["user"] for u in f["by_user"]] == ["alice", "bob"] and f["by_user"][1]["cost"] == "0.00"
    assert measured_cost(book, "2026-11", prices) == 0 and month_figures(book, "2026-11", prices, "JPY")["saved_percent"] == "0.0"
    # ingress priced too when configured (another cloud)
    assert Prices(Fraction(0), Fraction(2)).cost(GB, 5 * GB) == 2


def test_a_report_sent_again_is_counted_once_and_the_book_survives_a_round_trip():
    book = TransferBook()
    r = Report("id-1", "alice", {"workspace_out": 100})
    assert book.record("2026-12", r) is True
    assert book.record("2026-12", r) is False
    assert book.month("2026-12") == {"alice": {"workspace_out": 100}}
    again = TransferBook.from_dict(json.loads(json.dumps(book.to_dict())))
    assert again.month("2026-12") == {"alice": {"workspace_out": 100}} and again.record("2026-12", r) is False
    book.record("2027-01", Report("id-2", "alice", {"workspace_out": 1}))
    book.prune(1)
    assert list(book.months) == ["2027-01"]


@pytest.mark.parametrize("body, says", [
    ([], "JSON object"),
    ({"id": "x", "user": "alice", "bytes": {"upload_proxied": 1}, "extra": 1}, "unknown field"),
    ({"id": "", "user": "alice", "bytes": {"upload_proxied": 1}}, "id:"),
    ({"id": "x y", "user": "alice", "bytes": {"upload_proxied": 1}}, "id:"),
    ({"id": "x", "user": "", "bytes": {"upload_proxied": 1}}, "user:"),
    ({"id": "x", "user": "a/b", "bytes": {"upload_proxied": 1}}, "user:"),
    ({"id": "x", "user": "alice", "bytes": {}}, "bytes:"),
    ({"id": "x", "user": "alice", "bytes": {"teleport": 1}}, "unknown kind"),
    ({"id": "x", "user": "alice", "bytes": {"upload_proxied": -1}}, "whole number"),
    ({"id": "x", "user": "alice", "bytes": {"upload_proxied": 1.5}}, "whole number"),
    ({"id": "x", "user": "alice", "bytes": {"upload_proxied": True}}, "whole number"),
    ({"id": "x", "user": "alice", "bytes": {"upload_proxied": 1 << 60}}, "whole number"),
])
def test_bad_reports_are_refused_naming_the_field(body, says):
    with pytest.raises(ReportError) as info:
        parse_report(body)
    assert says in str(info.value)


def test_who_may_report_for_whom():
    alice = Report("r", "alice", {"upload_proxied": 1})
    assert refusal({"kind": "user", "name": "alice", "scopes": []}, alice, []) is None
    assert refusal({"kind": "user", "name": "bob"}, alice, []) == "transfer_other_user"
    assert refusal({"kind": "user", "name": "admin", "admin": True}, alice, []) == "transfer_other_user"
    assert refusal({"kind": "service", "name": "ci-transfer"}, alice, []) == "transfer_not_reporter"
    assert refusal({"kind": "service", "name": "ci-transfer"}, alice, ["ci-transfer"]) is None
    assert refusal(None, alice, ["ci-transfer"]) == "transfer_forbidden"


# -- the service: e = measured transfer + other_per_month ------------------------------------------------
T0 = 1_796_083_200_000_000  # 2026-12-01T00:00:00Z in µs (UTC accounting month)
DAY = 86_400_000_000


@pytest.fixture
def service(tmp_path):
    config = service_config(tmp_path / "cost.json")
    config.CostService.egress_price_per_gb = 20.0
    config.CostService.transfer_reporters = ["ci-transfer"]
    svc = CostService(config=config)
    svc.initialize([])
    svc.clock = lambda: T0 + 10 * DAY  # a third of December (31 days) gone
    return svc


def e_term(summary: dict) -> str:
    return next(t["amount"] for t in summary["month_to_date"]["terms"] if t["key"] == "e")


def test_the_measured_transfer_goes_into_e_so_far_and_projected(service, tmp_path):
    before = service.summary()
    assert e_term(before) == "64.52"  # 200 yen x 10/31 days, nothing measured yet
    assert service.record_transfer(Report("r1", "alice", {"upload_proxied": 31 * GB})) is True
    after = service.summary()
    assert after["transfer"]["cost"] == "620.00" and after["transfer"]["gb_out"] == "31.000"
    assert e_term(after) == "684.52"  # 64.52 + the 620 measured so far, exactly
    grown = Fraction(after["projection"]["total_exact"]) - Fraction(before["projection"]["total_exact"])
    assert grown == 620 * Fraction(31, 10)  # the month's rate so far, for the whole month
    assert after["transfer"]["other_per_month"] == "200.00"
    # kept: a new service on the same state has the month's reports, and knows the id
    again = CostService(config=service.config)
    again.initialize([])
    again.clock = service.clock
    assert again.summary()["transfer"]["bytes_out"] == 31 * GB
    assert again.record_transfer(Report("r1", "alice", {"upload_proxied": 31 * GB})) is False
    assert (tmp_path / "cost-transfer.json").exists()


def test_reports_count_in_the_month_they_arrive(service):
    service.record_transfer(Report("nov", "alice", {"workspace_out": GB}))
    service.clock = lambda: T0 + 31 * DAY + 1  # January
    assert service.summary()["transfer"]["bytes_out"] == 0 and service.summary()["transfer"]["month"] == "2027-01"


def test_negative_prices_are_refused(tmp_path):
    config = service_config(tmp_path / "c.json")
    config.CostService.egress_price_per_gb = -1.0
    with pytest.raises(Exception, match="egress_price_per_gb"):
        CostService(config=config).initialize([])


# -- the routes --------------------------------------------------------------------------------------------
MODELS = {"admin": {"kind": "user", "name": "admin", "admin": True, "scopes": []},
          "alice": {"kind": "user", "name": "alice", "admin": False, "scopes": []},
          "ci": {"kind": "service", "name": "ci-transfer", "scopes": []},
          "other-service": {"kind": "service", "name": "culler", "scopes": []}}


@pytest.fixture
async def served(monkeypatch, service):
    monkeypatch.setattr(cost_web.CostHandler, "get_current_user",
                        lambda self: MODELS.get(self.request.headers.get("Authorization", "").removeprefix("token ")))
    api = cost_web.TransferApi(service.transfer_figures, service.record_transfer, lambda: service.transfer_reporters)
    sock, port = bind_unused_port()
    http = HTTPServer(cost_web.make_app(PREFIX, service.summary, b"x" * 32, transfer=api))
    http.add_sockets([sock])
    yield f"http://127.0.0.1:{port}{PREFIX}", service
    http.stop()


async def post(url, token, body, **headers):
    if token:
        headers["Authorization"] = f"token {token}"
    try:
        r = await AsyncHTTPClient().fetch(url + "api/transfer", method="POST", body=json.dumps(body), headers=headers)
        return r.code, json.loads(r.body)
    except HTTPClientError as error:
        return error.code, json.loads(error.response.body)


async def test_a_user_reports_her_own_transfers_and_a_listed_service_for_anyone(served):
    url, service = served
    assert await post(url, "alice", {"id": "a1", "user": "alice", "bytes": {"upload_proxied": GB}}) == (200, {"recorded": True, "id": "a1"})
    assert await post(url, "alice", {"id": "a1", "user": "alice", "bytes": {"upload_proxied": GB}}) == (200, {"recorded": False, "id": "a1"})
    code, _ = await post(url, "ci", {"id": "c1", "user": "alice", "bytes": {"training_read": GB, "cache_saved": 2 * GB}})
    assert code == 200
    figures = json.loads((await AsyncHTTPClient().fetch(url + "api/transfer", headers={"Authorization": "token admin"})).body)
    assert figures["by_kind"]["upload_proxied"] == GB and figures["by_kind"]["cache_saved"] == 2 * GB
    assert (figures["gb_in"], figures["gb_out"], figures["cost"]) == ("2.000", "1.000", "20.00")


@pytest.mark.parametrize("token, user, status, reason", [
    ("alice", "bob", 403, "transfer_other_user"),
    ("admin", "alice", 403, "transfer_other_user"),
    ("other-service", "alice", 403, "transfer_not_reporter"),
    ("nobody", "alice", 403, "transfer_forbidden"),
    (None, "alice", 403, "transfer_no_token"),
])
async def test_reports_for_someone_else_are_refused(served, token, user, status, reason):
    url, service = served
    code, body = await post(url, token, {"id": "x1", "user": user, "bytes": {"workspace_out": 5}}, **{"Accept-Language": "ja"})
    assert (code, body["reason"]) == (status, reason)
    assert body["message"] == MESSAGES["ja"][reason]  # the cost service's own texts, in the reader's language
    assert service.summary()["transfer"]["bytes_out"] == 0


async def test_a_bad_report_is_400_and_readers_only_read(served):
    url, _ = served
    code, body = await post(url, "alice", {"id": "x", "user": "alice", "bytes": {"teleport": 1}})
    assert (code, body["reason"]) == (400, "transfer_bad_report") and "unknown kind" in body["message"]
    with pytest.raises(HTTPClientError) as info:
        await AsyncHTTPClient().fetch(url + "api/transfer", headers={"Authorization": "token alice"})
    assert info.value.code == 403


async def test_the_page_in_english_and_japanese(served):
    url, service = served
    service.record_transfer(Report("p", "alice", {"download_proxied": GB, "direct_download": 3 * GB}))
    en = (await AsyncHTTPClient().fetch(url + "transfer", headers={"Authorization": "token admin"})).body.decode()
    assert "Data transfer between the cloud and the office" in en
    assert '<td class="num" id="transfer-gb-out">1.000 GB</td>' in en and "20.00 JPY" in en
    assert "Saved by direct transfers and the cache: 6.000 GB (60.00 JPY), 75.0 % of the crossings" in en
    assert "other small costs 200.00 JPY" in en
    ja = (await AsyncHTTPClient().fetch(url + "transfer", headers={"Authorization": "token admin",
                                                                   "Accept-Language": "ja"})).body.decode()
    assert "直接転送とキャッシュで節約: 6.000 GB（60.00 JPY）" in ja and "ストアからブラウザーへ" in ja


def test_the_description_lists_the_transfer_routes():
    api = cost_web.TransferApi(dict, lambda r: True, list)
    app = cost_web.make_app(PREFIX, dict, b"x" * 32, transfer=api)
    described = set(cost_description(PREFIX)["paths"]) | set(cost_web.TRANSFER_PATHS)
    assert app_paths(app, PREFIX) == described and {"/transfer", "/api/transfer"} <= described
