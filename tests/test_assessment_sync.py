"""The history sync on the real engine: interrupted and resumed, it counts each appeal once and
ends exactly where an uninterrupted sync ends; appeals closing while syncs run are all synced,
once; an approved extension's deadline decides; `suban assessment verify` finds a row changed
behind the store's back."""
from __future__ import annotations

import concurrent.futures
import datetime as dt
import sqlite3
import threading

import pytest
from click.testing import CliRunner

from admin_data.workdays import SHANGHAI
from assessment import store
from assessment.indicators import parse_period
from assessment.sync import TERMINATED, WATERMARK, sync
from assessment.verify import verify
from cli import main
from external_tasks import appeal
from external_tasks.appeal import APPEAL_PROCESS, UNIT_PROCESS, family
from external_tasks.camunda import to_typed
from tests.appeal_driver import AppealDriver
from tests.conftest import wait_until


class Interrupted(Exception):
    """Stands for Ctrl-C or a crash between two pages."""


@pytest.fixture
def appeals(settings, engine, as_user):
    return AppealDriver(settings, engine, as_user)


def closed_roots(engine) -> list[dict]:
    return engine.post("/history/process-instance", {
        "processDefinitionKey": APPEAL_PROCESS, "finished": True,
        "sorting": [{"sortBy": "endTime", "sortOrder": "asc"},
                    {"sortBy": "instanceId", "sortOrder": "asc"}]})


def table(path) -> list[tuple]:
    db = store.connect(path)
    try:
        return [tuple(row) for row in db.execute("SELECT * FROM appeals ORDER BY appeal_number")]
    finally:
        db.close()


def test_interrupted_sync_resumes_and_counts_each_appeal_once(appeals, engine, tmp_path):
    numbers = [appeals.submit(kind="inquiry", answeredOnCall=True, township="zhaozhuang",
                              answer=f"第{index}次咨询已当场解答。") for index in range(5)]
    for number in numbers:
        appeals.closed(number)
    roots = closed_roots(engine)
    # The keyset paging relies on "finished/started after" including the instant itself.
    for time_field, after in (("endTime", "finishedAfter"), ("startTime", "startedAfter")):
        at_instant = engine.post("/history/process-instance", {
            "processDefinitionKey": APPEAL_PROCESS, after: roots[-1][time_field]})
        assert roots[-1]["id"] in [instance["id"] for instance in at_instant], after
    path = tmp_path / "interrupted.sqlite3"
    pages = []

    def stop_after_two_pages(appeals_in_page):
        pages.append(appeals_in_page)
        if len(pages) == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        sync(engine, path, page_size=2, on_page=stop_after_two_pages)
    db = store.connect(path)
    assert store.state(db, WATERMARK) == roots[3]["endTime"]  # two committed pages of two
    kept = [root["businessKey"] for root in roots[:4] if root["state"] not in TERMINATED]
    assert [row[0] for row in db.execute("SELECT appeal_number FROM appeals "
                                         "WHERE state = 'closed' ORDER BY appeal_number")] == \
        sorted(kept)
    db.close()

    resumed = sync(engine, path, page_size=2, overlap=dt.timedelta(0))
    # Without the overlap window the resumed run starts at the watermark: the three appeals
    # before it are not read again (the one at it is, harmlessly: rows are upserted).
    assert resumed.closed <= len(roots) - 3

    fresh = tmp_path / "fresh.sqlite3"
    sync(engine, fresh, page_size=1000)
    assert table(path) == table(fresh)
    db = store.connect(path)
    for number in numbers:
        assert db.execute("SELECT COUNT(*) FROM appeals WHERE appeal_number = ?",
                          (number,)).fetchone()[0] == 1
    assert db.execute("SELECT COUNT(*) FROM appeals WHERE appeal_number IN "
                      f"({', '.join('?' * len(numbers))}) AND closed_as = 'answered_on_call' "
                      "AND dispatched = 0", numbers).fetchone()[0] == 5
    db.close()

    again = sync(engine, path, page_size=2)  # with the overlap window: the same rows again
    assert table(path) == table(fresh)  # a sync with nothing new changes nothing
    assert again.watermark == resumed.watermark


def test_store_holds_no_caller_name_or_phone(appeals, engine, tmp_path):
    number = appeals.submit(kind="inquiry", answeredOnCall=True, township="zhaozhuang",
                            callerName="赵大海", callerPhone="13655556666", answer="已当场解答。")
    appeals.closed(number)
    path = tmp_path / "store.sqlite3"
    sync(engine, path)
    dump = "\n".join(str(row) for row in table(path))
    assert number in dump
    assert "13655556666" not in dump and "5556666" not in dump and "赵大海" not in dump


LITIGATION = "我和邻居的房屋买卖合同纠纷已经向法院起诉了, 想让热线督促法院尽快判决"


def rows_of(path, numbers) -> dict[str, tuple]:
    db = store.connect(path)
    try:
        return {row[0]: tuple(row) for row in db.execute(
            f"SELECT * FROM appeals WHERE appeal_number IN ({', '.join('?' * len(numbers))})",
            list(numbers))}
    finally:
        db.close()


def test_appeals_closing_while_syncs_run_are_all_synced_once(appeals, engine, tmp_path):
    """Appeals wait at the hotline centre's intake review; they are excluded (which closes them)
    two at a time, a pair during each round of a sync that another thread runs page by page,
    round after round. Then one more sync, as the next scheduled one: the store equals a full
    re-read, each appeal once."""
    numbers = [appeals.submit(content=LITIGATION, township="zhaozhuang") for _ in range(16)]
    for number in numbers:
        appeals.task(number, "hotline01", "Task_ReviewIntake")
    path = tmp_path / "concurrent.sqlite3"
    sync(engine, path, page_size=1)
    closing = threading.Event()
    rounds, failures = [], []

    def keep_syncing():
        while not closing.is_set():
            try:
                rounds.append(sync(engine, path, page_size=1))
            except Exception as error:  # noqa: BLE001 - handed to the test thread
                failures.append(error)
                return

    syncing = threading.Thread(target=keep_syncing)
    syncing.start()
    try:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            for pair in range(0, len(numbers), 2):
                started = len(rounds)
                list(pool.map(lambda number: appeals.work(
                    number, "hotline01", "Task_ReviewIntake", intakeDecision="exclude",
                    intakeNote="已进入诉讼程序, 告知诉求人通过法院渠道解决"),
                    numbers[pair:pair + 2]))
                wait_until(lambda: len(rounds) > started or failures, timeout=120,
                           what="a sync round after the pair closed")
            for number in numbers:
                appeals.closed(number)
    finally:
        closing.set()
        syncing.join()
    assert not failures, failures
    assert len(rounds) >= len(numbers) // 2, "a round of the sync at each pair's close"
    assert sum(report.open for report in rounds) > 0  # rounds saw some of them still open
    sync(engine, path, page_size=1)

    fresh = tmp_path / "fresh.sqlite3"
    sync(engine, fresh, page_size=1000)
    synced = rows_of(path, numbers)
    assert sorted(synced) == sorted(numbers)  # each once (the number is the key)
    assert synced == rows_of(fresh, numbers)
    assert {row[2] for row in synced.values()} == {"closed"}
    received = {row[4] for row in synced.values()}  # the day(s) they were received
    period = parse_period(start=min(received), end=max(received))
    assert [difference for difference in verify(engine, path, period)
            if difference.appeal_number in numbers] == []


def set_variable(engine, instance_id: str, name: str, value) -> None:
    engine.post(f"/process-instance/{instance_id}/variables",
                {"modifications": {name: to_typed(value)}})


def unit_run(engine, number) -> dict:
    runs = [instance for instance in family(engine, number)
            if instance["processDefinitionKey"] == UNIT_PROCESS and not instance.get("endTime")]
    assert len(runs) == 1, runs
    return runs[0]


def test_reply_after_the_original_but_before_the_extended_deadline_is_on_time(
        appeals, engine, tmp_path):
    """The reply comes after the first completion deadline (moved into the past here, the
    engine's clock cannot be) and before the approved extended one: on time. The same reply
    without the extension is late."""
    passed = dt.datetime.now(SHANGHAI) - dt.timedelta(hours=1)
    extended, late = appeals.submit(), appeals.submit()
    for number in (extended, late):
        appeals.to_reply(number)
    appeals.work(extended, "fengcheng01", "Task_ReplyAppeal", replyAction="extension",
                 extensionDays=5, extensionReason="需协调物业企业更换, 涉及业主大会表决, 时间较长")
    appeals.work(extended, "hotline01", "Task_ReviewExtension", extensionGranted=True,
                 extensionDecisionNote="理由充分, 同意延期5个工作日")
    appeals.task(extended, "fengcheng01", "Task_ReplyAppeal")
    root = family(engine, extended)[0]
    approved = wait_until(lambda: appeal.appeal_variables(
        engine, [root["id"]], ["extensionApproved", "completionDeadline"]), what="the extension")
    assert approved["extensionApproved"] is True
    extended_deadline = dt.datetime.fromisoformat(str(approved["completionDeadline"]))
    assert extended_deadline > dt.datetime.now(SHANGHAI)
    # The first deadline passed: the root keeps it as originalCompletionDeadline; the unit's
    # run (and, without an extension, the root) as completionDeadline.
    set_variable(engine, root["id"], "originalCompletionDeadline", passed.isoformat())
    for number in (extended, late):
        run = unit_run(engine, number)
        run_deadline = appeal.appeal_variables(engine, [run["id"]], ["completionDeadline"])
        if number == late or run_deadline.get("completionDeadline") != approved[
                "completionDeadline"]:
            set_variable(engine, run["id"], "completionDeadline", passed.isoformat())
    set_variable(engine, family(engine, late)[0]["id"], "completionDeadline", passed.isoformat())
    for number in (extended, late):
        appeals.work(number, "fengcheng01", "Task_ReplyAppeal",
                     replyText="经协调, 业主大会已表决更换物业, 新物业已进场清理。", solved=True)
        appeals.work(number, "hotline01", "Task_ReviewReply", replyApproved=True)
        appeals.task(number, "hotline01", "Task_CallbackCaller")
    path = tmp_path / "extension.sqlite3"
    sync(engine, path)
    rows = {number: row for number, row in rows_of(path, [extended, late]).items()}
    columns = store.COLUMNS
    judged, on_time, done_at, deadline = (columns.index(name) for name in (
        "completion_judged", "completion_on_time", "completion_done_at", "completion_deadline"))
    assert rows[extended][judged] == 1 and rows[extended][on_time] == 1
    assert rows[extended][done_at] > passed.isoformat()  # after the first deadline …
    assert dt.datetime.fromisoformat(rows[extended][deadline]) == extended_deadline  # … not this
    assert rows[late][judged] == 1 and rows[late][on_time] == 0


def test_verify_finds_a_row_changed_behind_the_stores_back(appeals, engine, settings):
    number = appeals.submit(kind="inquiry", answeredOnCall=True, township="zhaozhuang",
                            answer="已当场解答。")
    appeals.closed(number)
    path = store.store_path(settings)
    sync(engine, path)
    day = f"{number[2:6]}-{number[6:8]}-{number[8:10]}"
    environment = settings.to_env()
    clean = CliRunner().invoke(main, ["assessment", "verify", "--start", day, "--end", day],
                               env=environment)
    assert number not in clean.output, clean.output
    db = store.connect(path)
    db.execute("UPDATE appeals SET dispatched = 1, title = '改过的标题' WHERE appeal_number = ?",
               (number,))
    db.close()
    changed = CliRunner().invoke(main, ["assessment", "verify", "--start", day, "--end", day],
                                 env=environment)
    assert changed.exit_code == 1
    lines = [line for line in changed.output.splitlines() if line.startswith(number)]
    assert sorted(lines) == sorted([f"{number} dispatched: 库中 1, 引擎 0",
                                    f"{number} title: 库中 '改过的标题', 引擎 '小区物业不清理垃圾'"])
    assert "处不一致" in changed.output
    refused = CliRunner().invoke(main, ["assessment", "verify", "--month", "2026-13"],
                                 env=environment)
    assert refused.exit_code == 2 and "--month" in refused.output


def test_an_older_store_gets_the_new_columns_and_is_read_again(tmp_path):
    added = ("title", "sign_for_deadline", "sign_for_done_at", "feedback_deadline",
             "feedback_done_at", "completion_deadline", "completion_done_at")
    path = tmp_path / "older.sqlite3"
    older = sqlite3.connect(path)
    older.executescript(
        f"CREATE TABLE appeals (appeal_number TEXT PRIMARY KEY, "
        f"{', '.join(column for column in store.COLUMNS[1:] if column not in added)});"
        "CREATE TABLE sync_state (name TEXT PRIMARY KEY, value TEXT);"
        "INSERT INTO appeals (appeal_number, state) VALUES ('XS20261101-0001', 'closed');"
        f"INSERT INTO sync_state VALUES ('{WATERMARK}', '2026-11-30T08:00:00.000+0800');")
    older.commit()
    older.close()
    db = store.connect(path)
    try:
        columns = [row["name"] for row in db.execute("PRAGMA table_info(appeals)")]
        assert sorted(columns) == sorted(store.COLUMNS)
        assert store.state(db, WATERMARK) is None  # the next sync reads every appeal again
        assert tuple(db.execute("SELECT title, completion_deadline FROM appeals").fetchone()) \
            == (None, None)
    finally:
        db.close()
