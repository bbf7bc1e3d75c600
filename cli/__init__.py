"""`suban`: one command line for the whole stack, one click command tree (`suban --help` lists
every command, `suban COMMAND --help` tells each one's options).

The commands are thin: what they do lives in `cli.operations` (stack, deployment, directory,
workers, console, tests), `console.demo_appeals` and the `assessment` package.
"""
from __future__ import annotations

import datetime as dt
import functools
import sys

import click
import requests

from admin_data.environment import Settings
from admin_data.loader import AdminDataError
from cli import operations
from deploy import stack
from deploy.deployment import DeploymentRefused
from deploy.templates import TemplateSourceError
from external_tasks.camunda import EngineClient, EngineError

#: Failures a command reports as one line (exit status 1) instead of a traceback.
REPORTED = (stack.StackError, EngineError, DeploymentRefused, AdminDataError, TemplateSourceError,
            requests.RequestException, OSError, RuntimeError)


def with_settings(command):
    """Give the command the stack's settings (read from the environment) and report failures."""
    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            return command(Settings.from_env(), *args, **kwargs)
        except REPORTED as exc:
            stack.say(f"error: {exc}")
            sys.exit(1)
    return run


@click.group(name="suban", context_settings={"help_option_names": ["-h", "--help"],
                                           "max_content_width": 100})
def main():
    """宿事速办 12345 hotline stack. Settings come from SUBAN_* environment variables (README)."""


#: The commands that do one operation on the stack: (name, operation of the settings, help).
STACK_COMMANDS = (
    ("up", operations.up, "Build the engine if needed, start it, deploy the models, sync the "
     "directory, start the workers and the web console. Starts nothing twice."),
    ("down", operations.down, "Stop exactly what `up` started."),
    ("status", lambda settings: sys.exit(operations.status(settings)),
     "Show what runs and where (exit status 3 while a part is stopped)."),
    ("build", lambda settings: stack.build_engine(settings.engine, force=True),
     "Rebuild the engine jar (Maven)."),
    ("deploy", operations.deploy_models,
     "Deploy every BPMN, DMN and form as one deployment (changed resources only)."),
    ("sync-directory", operations.sync_directory,
     "Sync the directory of units into engine groups, users and rights."),
    ("workers", operations.run_workers, "Run the external-task workers in the foreground."),
    ("console", operations.run_console,
     "Run the web console (and its intake relay) in the foreground."),
    ("templates", operations.write_element_templates,
     "Write the workers' element templates for Camunda Modeler."),
)
for name, operation, help_text in STACK_COMMANDS:
    main.command(name, help=help_text)(with_settings(operation))


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def test(pytest_args: tuple[str, ...]):
    """Run the test suite; every argument goes to pytest (`suban test -x tests/test_routing.py`).
    The suite starts its own stack on free ports."""
    try:
        operations.run_tests(list(pytest_args))
    except (stack.StackError, OSError) as exc:
        stack.say(f"error: {exc}")
        sys.exit(1)


@main.command("demo-appeals")
@click.option("--count", default=2000, show_default=True, help="appeals to run through")
@click.option("--seed", default=2026, show_default=True, help="random seed (same seed, same appeals)")
@with_settings
def demo_appeals(settings: Settings, count: int, seed: int):
    """Run realistic demo appeals through the engine as the units would, then sync the
    assessment store."""
    from tqdm import tqdm

    from console.demo_appeals import run_demo

    with tqdm(total=count * 2, desc="demo appeals (registered, then closed)", unit="step") as bar:
        numbers = run_demo(settings, count, seed,
                           on_progress=lambda done, total, step: bar.update(done - bar.n))
    stack.say(f"{len(numbers)} demo appeals closed")
    operations.sync_assessment(settings)


@main.group()
def assessment():
    """The assessment and analysis store (考核/研判)."""


@assessment.command("sync")
@with_settings
def assessment_sync(settings: Settings):
    """Sync the engine's history into the store (resumable, incremental)."""
    operations.sync_assessment(settings)


@assessment.command("load-synthetic")
@click.option("--count", default=100_000, show_default=True)
@click.option("--year", default=dt.date.today().year - 1, show_default="last year")
@click.option("--seed", default=2026, show_default=True)
@with_settings
def load_synthetic(settings: Settings, count: int, year: int, seed: int):
    """Write SYNTHETIC appeals (labelled, for scale tests) into the store."""
    from assessment import store
    from assessment.synthetic import load_synthetic as load

    path = store.store_path(settings)
    load(path, count, year, seed)
    stack.say(f"{count} SYNTHETIC appeals of {year} written to {path} "
              "(source 'synthetic'; remove with `suban assessment remove-synthetic`)")


@assessment.command("remove-synthetic")
@with_settings
def remove_synthetic(settings: Settings):
    """Delete every synthetic appeal from the store."""
    from assessment import store
    from assessment.synthetic import remove_synthetic as remove

    path = store.store_path(settings)
    db = store.connect(path)
    try:
        stack.say(f"{remove(db)} synthetic appeals removed from {path}")
    finally:
        db.close()


@main.group()
def suggest():
    """The category suggester (分类建议) of the hotline desk."""


@suggest.command("train")
@click.option("--without-engine", is_flag=True,
              help="learn from taxonomy.yaml's keywords and examples only (no closed appeals)")
@with_settings
def suggest_train(settings: Settings, without_engine: bool):
    """Rebuild the category suggester from the closed appeals and taxonomy.yaml's keywords and
    examples; writes a new model version into the data folder."""
    operations.train_category_model(settings, None if without_engine else EngineClient.as_admin(settings))


@suggest.command("models")
@with_settings
def suggest_models(settings: Settings):
    """List the category model versions, newest (the one used) first."""
    from external_tasks import category_suggester

    folder = category_suggester.model_folder(settings)
    files = category_suggester.category_model_files(folder)
    in_use = category_suggester.newest_usable_model(folder)
    for path in files:
        try:
            info = category_suggester.load_model(path)[1]
        except category_suggester.ModelUnavailable as exc:
            stack.say(f"{path.name}  {path.stat().st_size // 1024} KiB  unusable: {exc}")
            continue
        stack.say(f"{path.name}  {path.stat().st_size // 1024} KiB  trained "
                  f"{info.trained_at:%Y-%m-%d %H:%M} UTC  {info.examples} examples, "
                  f"{info.from_appeals} closed appeals" + ("  (in use)" if info == in_use else ""))
    if not files:
        stack.say("no category model yet: suggestions come from taxonomy.yaml's keywords "
                  "(run `suban suggest train`)")
@assessment.command("verify")
@click.option("--month", help="统计月份, 如 2026-11")
@click.option("--quarter", help="季度, 如 2026-Q4")
@click.option("--year", help="年份, 如 2026")
@click.option("--start", help="开始日期 YYYY-MM-DD (与 --end 同用)")
@click.option("--end", help="结束日期 YYYY-MM-DD (含)")
@with_settings
def assessment_verify(settings: Settings, month, quarter, year, start, end):
    """Re-read the engine's history for a period and compare it with the store field by field;
    print every difference (exit status 1 when there is one)."""
    from assessment import store
    from assessment.indicators import InputError, parse_period
    from assessment.verify import verify

    try:
        period = parse_period(start, end, month, quarter, year)
    except InputError as error:
        raise click.BadParameter(error.message, param_hint=f"--{error.field}") from None
    differences = verify(EngineClient.as_admin(settings), store.store_path(settings), period)
    for difference in differences:
        click.echo(str(difference))
    click.echo(f"核对 {period.label}: {len(differences)} 处不一致" if differences
               else f"核对 {period.label}: 库与引擎历史完全一致")
    sys.exit(1 if differences else 0)
