"""Benchmark: appeals handled per second by one engine node against two on one PostgreSQL.

    .venv/bin/python bench/cluster_throughput.py [--appeals 200] [--threads 8]

For each layout a fresh throw-away PostgreSQL cluster and fresh nodes (engine and workers each,
as `tests/test_cluster.py` runs them) are started; the appeals are then started over REST,
spread over the nodes in turn as a load balancer would, and the clock stops when the last one
waits at the lead unit's sign-for task (register, scope check, caller notification, routing,
deadlines and unit notification done: six external tasks an appeal). Prints appeals/second per
layout and the ratio. On one machine both nodes share its cores: the figure shows what a second
node costs or gains there, not what a second host would add.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from admin_data.environment import Settings  # noqa: E402
from external_tasks.camunda import EngineClient  # noqa: E402
from tests.appeal_load import (engine_nodes, new_numbers, start_appeal,  # noqa: E402
                               waiting_at_expected_task)


def appeals_per_second(nodes: list[Settings], appeals: int, threads: int) -> float:
    engines = [EngineClient.as_admin(node) for node in nodes]
    numbers = new_numbers("BN", appeals)
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda index: start_appeal(engines[index % len(engines)], numbers[index]),
                      range(appeals)))
    deadline = started + 30 + appeals * 2
    while waiting_at_expected_task(engines[0], numbers) != set(numbers):
        if time.monotonic() > deadline:
            raise SystemExit(f"not every appeal reached the lead unit within "
                             f"{deadline - started:.0f} s")
        time.sleep(0.5)
    return appeals / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appeals", type=int, default=200)
    parser.add_argument("--threads", type=int, default=8, help="clients starting appeals at once")
    args = parser.parse_args()
    figures = {}
    for count in (1, 2):
        with tempfile.TemporaryDirectory(prefix="suban-bench-") as folder, \
                engine_nodes(Path(folder), count) as nodes:
            appeals_per_second(nodes, 20, args.threads)  # warm-up: JIT, caches, pools
            figures[count] = appeals_per_second(nodes, args.appeals, args.threads)
        print(f"{count} node(s): {figures[count]:.2f} appeals/s "
              f"({args.appeals} appeals to the lead unit's sign-for task)", flush=True)
    print(f"two nodes / one node: {figures[2] / figures[1]:.2f}×")


if __name__ == "__main__":
    main()
