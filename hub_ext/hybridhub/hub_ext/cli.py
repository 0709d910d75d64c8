"""The ``hybridhub`` command. Each area adds its subcommands through a ``register`` function."""

from __future__ import annotations

import argparse
import importlib
import sys

# Modules that provide ``register(subparsers)``; each adds one subcommand.
SUBCOMMAND_MODULES = [
    "hybridhub.hub_ext.demo.cli",
    "hybridhub.hub_ext.cost.cli",
    "hybridhub.hub_ext.doctor.cli",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hybridhub",
        description="hybridhub: a low-cost hybrid MLOps platform on JupyterHub.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in SUBCOMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
