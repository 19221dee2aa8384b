"""Command line of the pipeline: run, validate, render the state machine, generate data, estimate cost."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from pipeline.errors import UsageError


def _as_of(text: str) -> date:
    try:
        return date.fromisoformat(text) if len(text) == 10 else _reject_date(text)
    except ValueError:
        return _reject_date(text)


def _reject_date(text: str) -> date:
    raise argparse.ArgumentTypeError(f"not a calendar date in the form YYYY-MM-DD: {text!r}")


def _ratio(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a ratio between 0 and 1, got {text}")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse that reports mistakes in one line with exit code 2, without the usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m pipeline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = commands.add_parser("run", help="run the whole pipeline locally")
    run.add_argument(
        "--input",
        dest="inputs",
        action="append",
        required=True,
        type=Path,
        metavar="PATH",
        help="raw NDJSON file (plain or .gz); repeat in arrival order, a later file wins",
    )
    run.add_argument(
        "--as-of",
        type=_as_of,
        default=None,
        metavar="YYYY-MM-DD",
        help="the run's as-of date (default: today in UTC)",
    )
    run.add_argument(
        "--out", type=Path, default=Path("out"), metavar="DIR", help="output folder (default ./out)"
    )
    run.add_argument(
        "--rebuild", action="store_true", help="allow an as-of earlier than the latest existing snapshot"
    )
    run.add_argument(
        "--max-rejected-ratio",
        type=_ratio,
        default=None,
        metavar="R",
        help="fail when more than this share of input lines is quarantined (default 0.05)",
    )
    run.add_argument(
        "--state-digests", default="", metavar="TX,CA", help="also publish per-state digests for these states"
    )
    run.add_argument(
        "--skip-unchanged-digests",
        action="store_true",
        help="do not send a digest with nothing new, escalated, newly lapsed or resolved "
        "(the stack setting sendUnchangedDigests: false)",
    )
    run.set_defaults(handler=_run)

    render = commands.add_parser(
        "render-state-machine", help="print the state machine definition (placeholder ARNs)"
    )
    render.set_defaults(handler=_render_state_machine)

    from pipeline import cost, generate, validate

    for module, name, summary in (
        (validate, "validate", "check raw NDJSON files as the Glue job would read them"),
        (generate, "generate", "write synthetic facility NDJSON"),
        (cost, "cost", "estimate AWS cost per daily run"),
    ):
        command = commands.add_parser(name, help=summary)
        module.add_arguments(command)
        command.set_defaults(handler=module.run)
    return parser


def _run(args: argparse.Namespace) -> int:
    from pipeline.progress import stage_progress
    from pipeline.report import print_summary
    from pipeline.runner import PipelineFailed, RunRequest, run_pipeline
    from pipeline.settings import DEFAULT_CURATION_POLICY, CurationPolicy

    curation_policy = (
        CurationPolicy(max_rejected_ratio=args.max_rejected_ratio)
        if args.max_rejected_ratio is not None
        else DEFAULT_CURATION_POLICY
    )
    request = RunRequest(
        inputs=tuple(args.inputs),
        as_of=args.as_of or datetime.now(UTC).date(),
        out=args.out,
        rebuild=args.rebuild,
        curation_policy=curation_policy,
        state_digest_states=tuple(s.strip().upper() for s in args.state_digests.split(",") if s.strip()),
        send_unchanged_digests=not args.skip_unchanged_digests,
    )
    try:
        with stage_progress() as progress:
            summary = run_pipeline(request, progress)
    except PipelineFailed as failure:
        from glue_jobs.curation.options import CurationError

        if isinstance(failure.cause, UsageError | CurationError):
            # The data or the request needs a change, not the code: one line, exit 2.
            print(f"error: {failure.cause}", file=sys.stderr)
            return 2
        print(f"pipeline failed in stage {failure.stage}: {failure.cause}", file=sys.stderr)
        print(f"details: {request.out / 'run_summary.json'}", file=sys.stderr)
        return 1
    print_summary(summary)
    return 0


def _render_state_machine(args: argparse.Namespace) -> int:
    from pipeline.state_machine import render_state_machine

    print(render_state_machine())
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
