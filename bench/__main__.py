"""`make bench`: run every benchmark, write bench/RESULTS.md and bench/measurements.json, print them."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict

from bench.end_to_end import REPO_ROOT
from bench.plan import FULL, MEASUREMENTS, QUICK, RESULTS, WORK, log
from bench.results import BenchResults, render
from bench.steps import (
    end_to_end,
    environment,
    generate_inputs,
    glue_transform,
    make_demo,
    measurements_from,
    notifier,
    run_step,
)
from pipeline.cost.transitions import ordinary_day_transitions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, one run each: checks the harness")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    started = time.perf_counter()
    WORK.mkdir(parents=True, exist_ok=True)

    env = environment()
    inputs = generate_inputs(plan)
    e2e = end_to_end(plan, inputs)
    failures: dict[str, str] = {}
    bench = BenchResults(
        plan=plan,
        env=env,
        inputs=inputs,
        e2e=e2e,
        notifier_runs=run_step("notifier", failures, lambda: notifier(plan), []),
        demo=run_step("make demo", failures, lambda: make_demo(plan), []),
        glue=run_step("Glue transform", failures, lambda: glue_transform(plan, inputs), {}),
        measurements=measurements_from(e2e),
        transitions=ordinary_day_transitions(),
        bench_seconds=time.perf_counter() - started,
        failures=failures,
    )
    results = render(bench)
    target = RESULTS if not args.quick else WORK / "RESULTS.quick.md"
    measurements_path = MEASUREMENTS if not args.quick else WORK / "measurements.quick.json"
    measurements_path.write_text(json.dumps(asdict(bench.measurements), indent=2) + "\n", encoding="utf-8")
    target.write_text(results, encoding="utf-8")
    for path in [*inputs.registry.values(), *(path for paths in inputs.delta.values() for path in paths)]:
        path.unlink(missing_ok=True)
    print(results)
    log(f"wrote {target.relative_to(REPO_ROOT)} and {measurements_path.relative_to(REPO_ROOT)}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
