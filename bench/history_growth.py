"""Does an appeal cost more when the engine's history holds many closed appeals?

    .venv/bin/python bench/history_growth.py [--fill 10000] [--fill-minutes 60] [--samples 30]
        [--postgres PORT]

Two engines, one after the other, on the ports of the current SUBAN_* settings:

- a filled one (`data/bench-history`): the script first fills its history up to `--fill`
  closed appeals with the whole-life driver of `suban demo-appeals` (intake, dispatch, sign
  for, handle, reply, review, callback, evaluation, with the demo's mix of late and
  re-dispatched appeals), for at most `--fill-minutes`. The folder is kept (git-ignored) and
  reused as a fixture: the next run only adds what is missing. It prints the size of the H2
  file after each batch. After a fill it waits out the assessment sync's overlap window
  (15 minutes): the sync lists again the appeals closed in it, and the fill closes appeals a
  hundred times faster than a county;
- an empty one (data folder `data/bench-history-empty`, made afresh each run).

With `--postgres PORT` both engines run on PostgreSQL clusters of the bench's own (Debian's
binaries, on that port of 127.0.0.1, see `deploy/postgres.py`) instead of H2: the filled
one's cluster is kept in `data/bench-history-pg/postgres` as its fixture, the empty one's is
made afresh and deleted after.

On each, after `--warm-up` whole-life appeals (so that neither is measured while its JIT compiler
is busy), it prints the p95 of: intake (submission → the lead unit's 签收 task), the console's
`GET /api/v1/appeals/<number>`, a unit's Tasklist filter (fengcheng01's 本单位待办, the page of
15 tasks and the count Tasklist asks for) and the assessment store's incremental sync; then
the ratio filled / empty, flagged where it exceeds 1.3. The measured appeals are then worked to
closure, so that both engines are measured on the same open backlog (the samples only; it
prints the open appeals before measuring). Wall-clock figures: on a loaded
machine they carry its noise, so compare ratios of one run.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import time
import typing
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assessment import store  # noqa: E402
from assessment.sync import OVERLAP, sync  # noqa: E402
from bench.appeal_intake import SAMPLE_CATEGORY, SAMPLE_KIND, TOWNSHIPS, intake  # noqa: E402
from bench.worker_throughput import percentile  # noqa: E402
from cli import operations  # noqa: E402
from console.demo_appeals import Plan, TaskPump, run_demo  # noqa: E402
from deploy import stack  # noqa: E402
from deploy.postgres import LocalPostgres  # noqa: E402
from admin_data.environment import REPO_ROOT, Settings  # noqa: E402
from external_tasks.appeal import APPEAL_PROCESS  # noqa: E402
from external_tasks.camunda import EngineClient  # noqa: E402

FILLED = REPO_ROOT / "data" / "bench-history"
EMPTY = REPO_ROOT / "data" / "bench-history-empty"
FILLED_ON_POSTGRES = REPO_ROOT / "data" / "bench-history-pg"
EMPTY_ON_POSTGRES = REPO_ROOT / "data" / "bench-history-pg-empty"
UNIT_USER = "fengcheng01"
UNIT_FILTER = "本单位待办"
GROWTH_LIMIT = 1.3
#: Calls timed for each quick read (status, Tasklist filter, sync): the p95 of 20 calls is
#: the second-slowest, decided by whatever one pause of the engine (a compaction round, a
#: garbage collection, the JIT compiler) fell on it.
QUICK_CALLS = 100
FILL_BATCH = 100


@contextlib.contextmanager
def database(data_dir: Path, postgres_port: int | None,
             kept: bool) -> typing.Iterator[dict[str, str]]:
    """The engine's database variables: none for its H2 file in `data_dir`, or a PostgreSQL
    cluster of the bench's own, `kept` in `data_dir` as part of a fixture or thrown away."""
    if postgres_port is None:
        yield {}
        return
    with LocalPostgres(postgres_port, kept_in=data_dir / "postgres" if kept else None) as cluster:
        yield cluster.engine_env()


def closed_appeals(engine: EngineClient) -> int:
    return engine.get("/history/process-instance/count", processDefinitionKey=APPEAL_PROCESS,
                      finished="true")["count"]


def fill(settings: Settings, target: int, minutes: float) -> tuple[int, int]:
    """Closes whole-life appeals until the history holds `target` or the time is up; returns
    the closed appeals in the history and how many of them this call added."""
    engine = EngineClient.as_admin(settings, timeout_s=180)
    closed = before = closed_appeals(engine)
    deadline = time.monotonic() + minutes * 60
    while closed < target and time.monotonic() < deadline:
        began = time.monotonic()
        run_demo(settings, min(FILL_BATCH, target - closed), seed=closed)
        closed = closed_appeals(engine)
        h2 = engine.get("/suban/h2-store")
        size = f", H2 file {h2['fileBytes'] / 2**30:.1f} GiB" if h2["h2"] else ""
        print(f"  history: {closed} closed appeals ({time.monotonic() - began:.0f} s for the "
              f"last batch{size})", flush=True)
    return closed, closed - before


def open_appeals(engine: EngineClient) -> int:
    return engine.get("/history/process-instance/count", processDefinitionKey=APPEAL_PROCESS,
                      unfinished="true")["count"]


def close(settings: Settings, numbers: typing.Iterable[str]) -> None:
    """Works the measured appeals through their whole life: left open, they would pile up in
    the fixture run after run, and the sync (which reads every open appeal) and the Tasklist
    filter would be measured on a larger backlog than the empty engine's. The pump works tasks
    by plan; township and category only matter at registration."""
    engine = EngineClient.as_admin(settings, timeout_s=180)
    TaskPump(engine, {number: Plan(SAMPLE_KIND, SAMPLE_CATEGORY, TOWNSHIPS[0])
                      for number in numbers}).run(lambda closed: None)


def timed(call, samples: int) -> float:
    """p95 in ms of `samples` calls of `call`."""
    times = []
    for _ in range(samples):
        began = time.perf_counter()
        call()
        times.append((time.perf_counter() - began) * 1000)
    return percentile(times, .95)


def measure(settings: Settings, samples: int, warm_up: int) -> dict[str, float]:
    # Both engines first take the same appeals through their whole life: the empty one would
    # otherwise be measured while its JIT compiler is still busy, the filled one after hours.
    run_demo(settings, warm_up, seed=int(time.time()))
    engine = EngineClient.as_admin(settings)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {settings.api_token}"
    print(f"  {open_appeals(engine)} open appeals before the measurement", flush=True)
    # Bring the assessment store up to date first: what follows is the incremental sync.
    store_path = store.store_path(settings)
    sync(engine, store_path)
    submitted, latencies, _ = intake(settings, engine, session, samples, rate=1)
    figures = {"intake → 签收 task": percentile(list(latencies.values()), .95)}

    def appeal_status(number=next(iter(submitted))):
        session.get(f"{settings.console_url}/api/v1/appeals/{number}",
                    timeout=60).raise_for_status()
    figures["GET /api/v1/appeals/<number>"] = timed(appeal_status, QUICK_CALLS)

    unit = EngineClient(settings.engine_rest_url, UNIT_USER, settings.demo_password)
    [unit_filter] = unit.get("/filter", resourceType="Task", name=UNIT_FILTER)

    def tasklist_page():
        unit.post(f"/filter/{unit_filter['id']}/list?firstResult=0&maxResults=15",
                  {"sorting": [{"sortBy": "created", "sortOrder": "desc"}]})
        unit.get(f"/filter/{unit_filter['id']}/count")
    figures[f"Tasklist filter {UNIT_FILTER} ({UNIT_USER})"] = timed(tasklist_page, QUICK_CALLS)
    figures["incremental assessment sync"] = timed(lambda: sync(engine, store_path),
                                                        QUICK_CALLS)
    close(settings, submitted)
    return figures


def on_stack(data_dir: Path, postgres_port: int | None, kept: bool, work) -> dict[str, float]:
    with database(data_dir, postgres_port, kept) as database_env:
        settings = Settings.from_env(os.environ | {"SUBAN_DATA_DIR": str(data_dir)}
                                     | database_env)
        try:
            operations.up(settings)
        except stack.StackError as error:  # on a loaded machine a part may start slowly
            print(f"  {error}; starting again", flush=True)
            operations.up(settings)
        try:
            return work(settings)
        finally:
            operations.down(settings)


def print_figures(what: str, figures: dict[str, float]) -> None:
    print(f"{what}, p95: " + ", ".join(f"{name} {ms:.0f} ms" for name, ms in figures.items()),
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fill", type=int, default=10_000, help="closed appeals to reach")
    parser.add_argument("--fill-minutes", type=float, default=60)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--warm-up", type=int, default=100, metavar="N",
                        help="whole-life appeals on each engine before measuring")
    parser.add_argument("--postgres", type=int, metavar="PORT",
                        help="run both engines on PostgreSQL clusters of the bench's own, on "
                             "this port")
    args = parser.parse_args()
    filled_dir, empty_dir = ((FILLED_ON_POSTGRES, EMPTY_ON_POSTGRES) if args.postgres
                             else (FILLED, EMPTY))

    reached = {}

    def fill_and_measure(settings: Settings) -> dict[str, float]:
        reached["closed"], added = fill(settings, args.fill, args.fill_minutes)
        if added:
            # The sync lists again the appeals closed in its overlap window; the fill closes
            # them 100 times faster than a county does. Measure once they are out of it.
            print(f"  waiting {OVERLAP} for the fill's closures to leave the sync's overlap "
                  "window", flush=True)
            time.sleep(OVERLAP.total_seconds())
        return measure(settings, args.samples, args.warm_up)
    filled = on_stack(filled_dir, args.postgres, True, fill_and_measure)
    print_figures("filled engine", filled)
    shutil.rmtree(empty_dir, ignore_errors=True)
    empty = on_stack(empty_dir, args.postgres, False,
                     lambda settings: measure(settings, args.samples, args.warm_up))
    print_figures("empty engine", empty)
    print(f"p95, wall clock on this (loaded) machine, {'PostgreSQL' if args.postgres else 'H2'}; "
          f"filled engine: {reached['closed']} closed appeals in its history "
          f"(target {args.fill})")
    print(f"{'':44} {'empty':>9} {'filled':>9} {'ratio':>6}")
    for what, before in empty.items():
        ratio = filled[what] / max(before, 0.001)
        flag = f"  > {GROWTH_LIMIT}×" if ratio > GROWTH_LIMIT else ""
        print(f"{what:44} {before:7.0f}ms {filled[what]:7.0f}ms {ratio:5.2f}×{flag}")


if __name__ == "__main__":
    main()
