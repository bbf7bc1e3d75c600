"""`suban assessment …` and `suban demo-appeals`: the store's upkeep from the command line.

    suban assessment sync                       sync the engine's history into the store
    suban assessment load-synthetic [--count N] [--year Y] [--seed S]
                                                SYNTHETIC appeals for scale tests (labelled)
    suban assessment remove-synthetic           delete every synthetic appeal
    suban demo-appeals [--count N] [--seed S]   realistic appeals through the real engine
"""
from __future__ import annotations

import argparse
import datetime as dt

import requests

from assessment import store
from assessment.sync import sync
from assessment.synthetic import load_synthetic, remove_synthetic
from deploy.admin_files import ConfigFileError
from deploy.settings import Settings
from external_tasks.camunda import EngineError


def main(argv: list[str]) -> int:
    from deploy import stack

    parser = argparse.ArgumentParser(prog="suban", description="考核与研判: the analytical store")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo-appeals", help="run realistic appeals through the engine")
    demo.add_argument("--count", type=int, default=2000)
    demo.add_argument("--seed", type=int, default=2026)
    assessment = commands.add_parser("assessment", help="the analytical store")
    actions = assessment.add_subparsers(dest="action", required=True)
    actions.add_parser("sync", help="sync the engine's history into the store")
    synthetic = actions.add_parser("load-synthetic", help="SYNTHETIC appeals for scale tests")
    synthetic.add_argument("--count", type=int, default=100_000)
    synthetic.add_argument("--year", type=int, default=dt.date.today().year - 1)
    synthetic.add_argument("--seed", type=int, default=2026)
    actions.add_parser("remove-synthetic", help="delete every synthetic appeal")
    args = parser.parse_args(argv)
    try:
        run(args, Settings.from_env())
    except (EngineError, ConfigFileError, RuntimeError, requests.RequestException) as exc:
        stack.say(f"error: {exc}")
        return 1
    return 0


def run(args: argparse.Namespace, settings: Settings) -> None:
    from deploy import cli, stack

    path = store.store_path(settings)
    if args.command == "demo-appeals":
        from deploy.demo_appeals import run_demo

        numbers = run_demo(settings, args.count, args.seed)
        stack.say(f"{len(numbers)} demo appeals closed")
        args.action = "sync"
    if args.action == "sync":
        report = sync(cli.admin_client(settings), path)
        stack.say(f"assessment store {path}: {report.closed} closed and {report.open} open "
                  f"appeals read, {report.removed} removed; watermark {report.watermark}")
    elif args.action == "load-synthetic":
        load_synthetic(path, args.count, args.year, args.seed)
        stack.say(f"{args.count} SYNTHETIC appeals of {args.year} written to {path} "
                  "(source 'synthetic'; remove with `suban assessment remove-synthetic`)")
    else:
        db = store.connect(path)
        try:
            stack.say(f"{remove_synthetic(db)} synthetic appeals removed from {path}")
        finally:
            db.close()
