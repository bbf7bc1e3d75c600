"""Reconciliation: re-read the engine's history for a period and compare it with the store, field
by field (`suban assessment verify`, for auditors and as a check after each nightly sync).

Every appeal received in the period is read afresh — the roots started since the period's first
day, as an appeal is entered at or after its receipt — and turned into its row exactly as the
sync does, judging open appeals as of the last sync. Differences: an appeal missing from the
store, a stored appeal the engine no longer has, and every field whose value differs. An open
appeal that moved on since the last sync differs for that reason alone; each difference says
whether the appeal is still open.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from admin_data.workdays import SHANGHAI
from assessment import store
from assessment.indicators import Period
from assessment.sync import LAST_SYNC, TERMINATED, HistoryReader, appeal_row, caller_secret, now
from external_tasks.camunda import EngineClient

WHOLE_ROW = "(整行)"


@dataclasses.dataclass(frozen=True)
class Difference:
    appeal_number: str
    field: str
    stored: object
    engine: object
    open: bool  # the appeal is still open in the engine (its figures may have moved since)

    def __str__(self) -> str:
        state = " (在办, 同步后可能已有变化)" if self.open else ""
        if self.field == WHOLE_ROW:
            where = "库中缺少此工单" if self.stored is None else "引擎中已无此工单"
            return f"{self.appeal_number}: {where}{state}"
        return f"{self.appeal_number} {self.field}: 库中 {self.stored!r}, 引擎 {self.engine!r}{state}"


def engine_rows(engine: EngineClient, db_path: Path, period: Period,
                as_of: dt.datetime, page_size: int = 100) -> dict[str, dict]:
    """The rows the sync would write for the appeals received in the period, from the engine."""
    reader = HistoryReader(engine, page_size)
    secret = caller_secret(db_path)
    since = dt.datetime.combine(period.start, dt.time(), SHANGHAI)
    rows = {}
    for roots in reader.started_roots(since):
        kept = [root for root in roots if root["state"] not in TERMINATED]
        for history in reader.appeals(kept):
            row = appeal_row(history, as_of, secret)
            if period.start.isoformat() <= row["received_date"] <= period.end.isoformat():
                rows[row["appeal_number"]] = row
    return rows


def stored_rows(db_path: Path, period: Period) -> tuple[dict[str, dict], dt.datetime]:
    """The store's real appeals of the period, and the time of its last sync (now if none)."""
    db = store.connect(db_path)
    try:
        rows = {row["appeal_number"]: dict(row) for row in db.execute(
            "SELECT * FROM appeals WHERE source <> ? AND received_date BETWEEN ? AND ?",
            (store.SYNTHETIC, period.start.isoformat(), period.end.isoformat()))}
        last_sync = store.state(db, LAST_SYNC)
    finally:
        db.close()
    return rows, dt.datetime.fromisoformat(last_sync) if last_sync else now()


def verify(engine: EngineClient, db_path: Path, period: Period) -> list[Difference]:
    """Every difference between the store and a full re-read of the period, by appeal number."""
    stored, as_of = stored_rows(db_path, period)
    fresh = engine_rows(engine, db_path, period, as_of)
    differences = []
    for number in sorted(set(stored) | set(fresh)):
        mine, theirs = stored.get(number), fresh.get(number)
        still_open = (theirs or mine)["state"] == "open"
        if mine is None or theirs is None:
            differences.append(Difference(number, WHOLE_ROW, mine and number, theirs and number,
                                          still_open))
            continue
        differences += [Difference(number, column, mine[column], theirs[column], still_open)
                        for column in store.COLUMNS if mine[column] != theirs[column]]
    return differences
