"""The ``qwenperf`` command: ``qwenperf sim`` (the simulator) and ``qwenperf report``.

Each subcommand lives with its layer (``simulator/cli.py``, ``reports/cli.py``), which
provides ``add_arguments(parser)`` and ``run(args) -> int``; this module only dispatches.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from pytest_qwenperf._version import __version__

#: subcommand -> (module providing add_arguments/run, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "sim": (
        "pytest_qwenperf.simulator.cli",
        "run the embedded Qwen-Image simulator (DashScope and OpenAI APIs) until interrupted",
    ),
    "report": (
        "pytest_qwenperf.reports.cli",
        "render a saved JSON perf report as a table or markdown",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qwenperf",
        description="pytest-qwenperf tools: run the Qwen-Image simulator, render saved reports.",
    )
    parser.add_argument("--version", action="version", version=f"qwenperf {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        module = importlib.import_module(module_name)
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(sub_parser)
        sub_parser.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    rc: int = args._run(args)
    return rc


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
