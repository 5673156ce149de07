"""The ``qwenperf`` command: ``qwenperf sim`` (the simulator) and ``qwenperf report``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pytest_qwenperf._version import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qwenperf",
        description="pytest-qwenperf tools: run the Qwen-Image simulator, render saved reports.",
    )
    parser.add_argument("--version", action="version", version=f"qwenperf {__version__}")
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
