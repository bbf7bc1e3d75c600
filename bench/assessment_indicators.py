"""Benchmark of 考核: indicators for every unit over a year of 100,000 appeals (target < 2 s), and
the sync's throughput from the engine's history in appeals/second.

    .venv/bin/python bench/assessment_indicators.py [--appeals 100000] [--runs 5]
                                                    [--sync-appeals 200 | --no-sync]

Indicators: a SYNTHETIC year is written to a throwaway store (loader throughput printed too),
then every group (lead units, townships, departments, county) is computed from it `--runs`
times; min and median are printed. Sync: uses the stack of the current SUBAN_* settings (`suban
up` starts it when it is not running), tops its engine up with demo appeals until it holds
`--sync-appeals` closed ones, and syncs them all into an empty store.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assessment import store  # noqa: E402
from admin_data.assessment import ASSESSMENT  # noqa: E402
from assessment.indicators import all_indicators, parse_period  # noqa: E402
from assessment.sync import sync  # noqa: E402
from assessment.synthetic import load_synthetic  # noqa: E402
from admin_data.directory import DIRECTORY  # noqa: E402
from external_tasks.camunda import EngineClient  # noqa: E402
from external_tasks.appeal import APPEAL_PROCESS  # noqa: E402

YEAR = 2025


def bench_indicators(folder: Path, appeals: int, runs: int) -> None:
    path = folder / "synthetic.sqlite3"
    started = time.perf_counter()
    load_synthetic(path, appeals, YEAR, progress=False)
    loaded = time.perf_counter() - started
    print(f"bulk loader: {appeals:,} synthetic appeals in {loaded:.1f} s "
          f"({appeals / loaded:,.0f} appeals/s)")
    config, directory, period = ASSESSMENT.current(), DIRECTORY.current(), parse_period(
        year=str(YEAR))
    db = store.connect(path)
    store.report_scope(db, include_synthetic=True)  # the bench's appeals are all synthetic
    timings, rows = [], {}
    for _ in range(runs):
        started = time.perf_counter()
        rows = all_indicators(db, period, config, directory)
        timings.append(time.perf_counter() - started)
    db.close()
    units = sum(len(group_rows) for group, group_rows in rows.items() if group != "county")
    print(f"indicators for every unit ({units} unit rows: "
          + ", ".join(f"{len(group_rows)} {group}" for group, group_rows in rows.items())
          + f") over {appeals:,} appeals of {YEAR}: min {min(timings):.3f} s, "
            f"median {statistics.median(timings):.3f} s over {runs} runs (target < 2 s)")


def bench_sync(folder: Path, wanted: int) -> None:
    from cli import operations
    from console.demo_appeals import run_demo
    from admin_data.environment import Settings

    settings = Settings.from_env()
    operations.up(settings)
    engine = EngineClient.as_admin(settings)
    closed = engine.get("/history/process-instance/count", processDefinitionKey=APPEAL_PROCESS,
                        finished="true")["count"]
    if closed < wanted:
        print(f"engine holds {closed} closed appeals; running {wanted - closed} demo appeals ...")
        run_demo(settings, wanted - closed, seed=int(time.time()))
    started = time.perf_counter()
    report = sync(engine, folder / "sync.sqlite3")
    elapsed = time.perf_counter() - started
    total = report.closed + report.open
    print(f"sync from the engine: {total} appeals ({report.closed} closed, {report.open} open) "
          f"in {elapsed:.1f} s = {total / elapsed:.1f} appeals/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appeals", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sync-appeals", type=int, default=200)
    parser.add_argument("--no-sync", action="store_true", help="skip the engine sync figure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="suban-bench-") as folder:
        bench_indicators(Path(folder), args.appeals, args.runs)
        if not args.no_sync:
            bench_sync(Path(folder), args.sync_appeals)


if __name__ == "__main__":
    main()
