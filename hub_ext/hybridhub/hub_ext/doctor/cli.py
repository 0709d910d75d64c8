"""``hybridhub doctor`` (registered in :mod:`hybridhub.hub_ext.cli`); run it in the hub pod:
``kubectl exec deploy/hub -- hybridhub doctor``."""

from __future__ import annotations

import argparse

from .check import FAIL, Result
from .context import default_config_file, load_context
from .i18n import MESSAGES, language_from_env
from .report import exit_code, render_json, render_text
from .run import run_checks

HELP = {
    "doctor": ("check the hub's effective configuration and its live connections: pass/warn/fail, what was "
               "seen, the fix"),
    "config": "the hub's jupyterhub_config.py (default: the chart's, else ./jupyterhub_config.py)",
    "json": "print JSON instead of text (every text in every language)",
    "lang": "language of the text report (default: from LANG)",
    "offline": ("check the configuration only: do not contact the object store, GitLab, the Kubernetes API "
                "and the image registries"),
    "token": ("The runners check needs a GitLab administrator's personal access token (read_api) in the "
              "environment variable HYBRIDHUB_DOCTOR_GITLAB_TOKEN; without it, it says \"not checked\"."),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    doctor = subparsers.add_parser("doctor", help=HELP["doctor"], description=HELP["doctor"], epilog=HELP["token"])
    doctor.add_argument("--config", metavar="FILE", help=HELP["config"])
    doctor.add_argument("--json", action="store_true", help=HELP["json"])
    doctor.add_argument("--lang", choices=sorted(MESSAGES), help=HELP["lang"])
    doctor.add_argument("--offline", action="store_true", help=HELP["offline"])
    doctor.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config_file = args.config or default_config_file()
    language = args.lang or language_from_env()
    try:
        results = run_checks(load_context(config_file), live=not args.offline)
    except Exception as e:  # noqa: BLE001 - the hub would not start either: that is the report
        results = [config_failed(e)]
    print(render_json(results, config_file) if args.json else render_text(results, language, config_file))
    return exit_code(results)


def config_failed(error: Exception) -> Result:
    """The configuration did not load: only the error's type and first line (no values of it)."""
    first_line = (str(error).splitlines() or [""])[0][:200]
    fix = "fix_config_missing" if isinstance(error, FileNotFoundError) else "fix_config_error"
    return Result("config", FAIL, "saw_config_error", {"error": f"{type(error).__name__}: {first_line}"}, fix)
