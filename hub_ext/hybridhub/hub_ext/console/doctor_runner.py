"""The doctor, run by the console on the hub's config file: at start, then every few minutes.

Loading the config and the live checks block (seconds each: they contact the object store and
GitLab), so every run happens in one worker thread, never on the event loop, and two runs never
overlap. The page shows the latest finished run.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from hybridhub.hub_ext.doctor.check import FAIL, Result
from hybridhub.hub_ext.doctor.report import counts

from .compose import DoctorRun


class DoctorRunner:
    def __init__(self, config_file: str, interval_minutes: float, live: bool = True,
                 log: logging.Logger | None = None) -> None:
        self.config_file = config_file
        self.interval_minutes = interval_minutes
        self.live = live
        self.log = log or logging.getLogger(__name__)
        self.latest = DoctorRun(None, None, interval_minutes, config_file)
        self.hub_config = None  # the hub's config as last loaded (the console reads settings from it)
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hybridhub-console-doctor")

    def run_once(self) -> DoctorRun:
        """One run (blocking: call it in the worker thread); a config that does not load is the report.

        The doctor's checks are imported here, not at the console's start: a check module that
        does not import is one failed line on the page, not a console that does not start.
        """
        try:
            from hybridhub.hub_ext.doctor.cli import config_failed
            from hybridhub.hub_ext.doctor.context import load_context
            from hybridhub.hub_ext.doctor.run import run_checks
        except Exception as e:  # noqa: BLE001 - reported like run_checks reports a crashing check
            results = [Result("config", FAIL, "saw_check_error", {"error": type(e).__name__}, "fix_check_error")]
        else:
            try:
                context = load_context(self.config_file)
            except Exception as e:  # noqa: BLE001 - the hub would not start either: that is the report
                results = [config_failed(e)]
            else:
                self.hub_config = context.config
                results = run_checks(context, live=self.live)
        self.latest = DoctorRun(results, datetime.now(timezone.utc), self.interval_minutes, self.config_file)
        n = counts(results)
        self.log.info("hybridhub console: doctor %d passed, %d warnings, %d failed", n["pass"], n["warn"], n["fail"])
        return self.latest

    async def loop(self) -> None:
        running = asyncio.get_running_loop()
        while True:
            try:
                await running.run_in_executor(self.executor, self.run_once)
            except Exception as e:  # noqa: BLE001 - the next run may do better; the page keeps the last
                self.log.warning("hybridhub console: the doctor's run failed (%s)", type(e).__name__)
            await asyncio.sleep(self.interval_minutes * 60)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
