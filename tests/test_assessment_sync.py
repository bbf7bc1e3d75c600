"""The history sync on the real engine: interrupted and resumed, it counts each appeal once and
ends exactly where an uninterrupted sync ends."""
from __future__ import annotations

import pytest

from assessment import store
from assessment.sync import TERMINATED, WATERMARK, sync
from external_tasks.appeal import APPEAL_PROCESS
from tests.appeal_driver import AppealDriver


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

    resumed = sync(engine, path, page_size=2)
    # The resumed run starts at the watermark: the four appeals before it are not read again
    # (the one at the watermark is, harmlessly: rows are upserted by appeal number).
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

    again = sync(engine, path, page_size=2)
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
