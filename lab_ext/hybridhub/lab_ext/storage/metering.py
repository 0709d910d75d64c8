"""Bytes this server moved between the office's object store and people, by kind, sent to the cost service.

In the reference layout the user server runs in the cloud while the people and the store are in
the office, so what crosses the cloud's edge depends on the path a transfer takes:

=================  ==============================================  =============================
kind               path                                            counted where
=================  ==============================================  =============================
upload_proxied     browser → this server → store                   ``upload_reader``
download_proxied   store → this server → browser                   the object handler's stream
workspace_in       store → workspace                               ``start_download``
workspace_out      workspace → store                               ``start_upload``
direct_upload      browser → store (presigned parts, no server)    :func:`count_direct_upload`
direct_download    store → browser (presigned redirect)            ``download_link``: the size
=================  ==============================================  =============================

The server only counts bytes by kind; which kinds cross the edge in which direction (and which
are *saved*, as a direct transfer's would-have-been trip through the server) is decided in one
table by the cost service (``hybridhub.hub_ext.cost.transfer.CROSSINGS``), where the prices are.

:class:`TransferReporter` sends the counts gathered since its last report every
``report_seconds`` and at shutdown: ``POST <HYBRIDHUB_COST_SERVICE_URL>/api/transfer`` with the server's
own ``JUPYTERHUB_API_TOKEN`` (its token carries ``access:services!service=hybridhub-cost``, no
more). Best effort: a failed report keeps its counts (same report id, so a report that arrived
but whose answer was lost is not counted twice) and the next tick sends them again; a report
never touches a transfer, and neither the token nor the URL's query is ever logged.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import urllib.error
import urllib.request
import uuid

from traitlets import Float, Unicode, default
from traitlets.config import LoggingConfigurable

from hybridhub.spawner import envvars

KINDS = ("upload_proxied", "download_proxied", "workspace_in", "workspace_out", "direct_upload", "direct_download")


class Meter:
    """Thread-safe byte counters by kind (transfers run in worker threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def add(self, kind: str, nbytes: int) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown transfer kind {kind!r}")
        if nbytes <= 0:
            return
        with self._lock:
            self._counts[kind] = self._counts.get(kind, 0) + int(nbytes)

    def count_direct_upload(self, size: int) -> None:
        """A browser uploaded ``size`` bytes straight to the store (the bytes never crossed the cloud)."""
        self.add("direct_upload", size)

    def take(self) -> dict[str, int]:
        """The counts so far, and start again from zero."""
        with self._lock:
            counts, self._counts = self._counts, {}
        return counts

    def give_back(self, counts: dict[str, int]) -> None:
        """Counts a report could not deliver, added to what came since."""
        for kind, nbytes in counts.items():
            self.add(kind, nbytes)

    def peek(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


METER = Meter()
"""This server's meter: one server process, one set of counts."""


def count_direct_upload(size: int) -> None:
    """For the direct (presigned multipart) upload: call once when the store completed the upload."""
    METER.count_direct_upload(size)


class TransferReporter(LoggingConfigurable):
    """Sends this server's transfer counts to the cost service (``c.TransferReporter.*``)."""

    cost_url = Unicode(
        config=True,
        help="""Base URL of the cost service as this server reaches it, e.g.
        ``http://hub:10101/services/hybridhub-cost/`` (default: $HYBRIDHUB_COST_SERVICE_URL).
        Empty: the counts are kept in memory only and the cost page shows no transfers of this server.""",
    )
    report_seconds = Float(60.0, config=True, help="Seconds between two reports of the counts (also sent at shutdown).")
    timeout_seconds = Float(10.0, config=True, help="Timeout of one report request.")

    @default("cost_url")
    def _cost_url_default(self):
        return os.environ.get(envvars.COST_SERVICE_URL.name, "")

    def __init__(self, meter: Meter = METER, **kwargs) -> None:
        super().__init__(**kwargs)
        self.meter = meter
        self.user = os.environ.get("JUPYTERHUB_USER", "")
        self._token = os.environ.get("JUPYTERHUB_API_TOKEN", "")
        self._pending: tuple[str, dict[str, int]] | None = None  # the report not yet acknowledged
        self._send_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False
        self.sent = 0

    @property
    def enabled(self) -> bool:
        return bool(self.cost_url and self._token and self.user)

    def start(self) -> None:
        if not self.enabled:
            self.log.info("hybridhub transfers: not reporting to the cost service (no %s or no hub token)",
                          envvars.COST_SERVICE_URL.name)
            return
        self._thread = threading.Thread(target=self._loop, name="hybridhub-transfer-report", daemon=True)
        self._thread.start()
        atexit.register(self.stop)

    def stop(self) -> None:
        """Stop the loop and send what is left (shutdown); idempotent."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(self.timeout_seconds + 1)
        self._thread = None
        self.send()

    def _loop(self) -> None:
        while not self._stop.wait(self.report_seconds):
            self.send()

    def send(self) -> bool:
        """One report of the counts not yet delivered; True when the cost service took them (or
        there was nothing to send)."""
        with self._send_lock:
            if self._pending is None:
                counts = self.meter.take()
                if not counts:
                    return True
                self._pending = (uuid.uuid4().hex, counts)
            report_id, counts = self._pending
            body = json.dumps({"id": report_id, "user": self.user, "bytes": counts}).encode()
            request = urllib.request.Request(
                self.cost_url.rstrip("/") + "/api/transfer", data=body, method="POST",
                headers={"Authorization": f"token {self._token}", "Content-Type": "application/json"},
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                    response.read()
            except urllib.error.HTTPError as error:
                return self._failed(f"HTTP {error.code}")
            except (OSError, ValueError) as error:
                return self._failed(type(error).__name__)
            self._pending = None
            if self._failing:
                self.log.info("hybridhub transfers: reporting to the cost service again")
            self._failing = False
            self.sent += 1
            return True

    def _failed(self, why: str) -> bool:
        # the counts stay pending under the same id; the token and URL are never logged
        if not self._failing:
            self.log.warning("hybridhub transfers: report to the cost service failed (%s); keeping the counts", why)
        self._failing = True
        return False
