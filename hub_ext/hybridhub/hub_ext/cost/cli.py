"""``hybridhub cost …`` subcommands (registered in :mod:`hybridhub.hub_ext.cli`)."""

from __future__ import annotations

import argparse
import sys

from .estimate import EstimateError, estimate, render_json, render_table

MESSAGES = {
    "cost_help": "cost model: estimate a month's cost from the reference model",
    "estimate_help": "print each term of C = Σ C_np + C_lb + N_ip·C_ip + e, its share and the total",
    "file_help": "YAML input (see examples/cost-paper-table1.yaml and docs/cost.md)",
    "json_help": "print JSON instead of a table",
    "error": "hybridhub cost estimate: error: {message}",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    cost = subparsers.add_parser("cost", help=MESSAGES["cost_help"], description=MESSAGES["cost_help"])
    sub = cost.add_subparsers(dest="cost_command", metavar="COMMAND", required=True)
    est = sub.add_parser("estimate", help=MESSAGES["estimate_help"], description=MESSAGES["estimate_help"])
    est.add_argument("file", metavar="FILE", help=MESSAGES["file_help"])
    est.add_argument("--json", action="store_true", help=MESSAGES["json_help"])
    est.set_defaults(func=run_estimate)


def run_estimate(args: argparse.Namespace) -> int:
    try:
        result = estimate(args.file)
    except EstimateError as exc:
        print(MESSAGES["error"].format(message=exc), file=sys.stderr)
        return 2
    print(render_json(result) if args.json else render_table(result))
    return 0
