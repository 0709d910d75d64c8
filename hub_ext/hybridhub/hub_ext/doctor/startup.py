"""The doctor's report in the hub's log at start-up.

``hub.extraConfig`` hands the config file's ``c`` to :func:`report_in_log`. The hub then goes on
starting; a thread waits :data:`DELAY_SECONDS` (by then the config file has run to its end and
the hub has logged its own start), runs every check on that configuration — the live ones
block for up to seconds each, so never on the hub's event loop — and logs one line per check:
info for pass, warning for warn, error for fail, with the fix. It never raises into the hub.
"""

from __future__ import annotations

import logging
import os
import threading

from . import context as loading
from .check import FAIL, WARN, Context
from .i18n import language_from_env
from .report import counts, headline, result_lines
from .run import run_checks

DELAY_SECONDS = 5.0
LOG = logging.getLogger("JupyterHub")  # the hub application's own logger
LEVELS = {FAIL: logging.ERROR, WARN: logging.WARNING}


def report_in_log(config, delay: float = DELAY_SECONDS, live: bool = True) -> threading.Thread | None:
    """Start the report; ``None`` when ``hybridhub doctor`` itself is loading the config file."""
    if loading.loading_for_doctor():
        return None
    thread = threading.Thread(target=_report, args=(config, delay, live), name="hybridhub-doctor", daemon=True)
    thread.start()
    return thread


def _report(config, delay: float, live: bool) -> None:
    threading.Event().wait(delay)
    try:
        results = run_checks(Context(config=config, environ=dict(os.environ)), live=live)
        language = language_from_env()
        level = logging.ERROR if counts(results)[FAIL] else logging.INFO
        LOG.log(level, "%s", headline(results, language, "jupyterhub_config.py"))  # starts "hybridhub doctor:"
        for result in results:
            LOG.log(LEVELS.get(result.status, logging.INFO), "hybridhub doctor %s", " — ".join(result_lines(result, language)))
    except Exception as e:  # noqa: BLE001 - a report must never disturb the hub
        LOG.warning("hybridhub doctor: the start-up report failed (%s)", type(e).__name__)
