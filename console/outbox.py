"""The intake outbox: an appeal the console accepted is on disk before the engine hears of it.

`POST /api/v1/appeals` writes the appeal here (SQLite in the data folder, synced on commit),
then tries to start its process; when the engine is down or slow the appeal stays queued and
the relay (a thread of the console process) starts it as soon as the engine answers.

Exactly once: a row is claimed with a lease before anyone talks to the engine, and a start
begins by asking the engine's history for a process with the appeal number as business key.
A sender that dies between starting the process and marking the row leaves a queued row whose
lease runs out; the next claim finds the process and only marks the row. A start whose answer
never came (timeout, engine error) may still land, so its row waits `SETTLE_S` before the next
claim looks again. Once started, the row keeps no caller data.

Numbers: an appeal's number comes from the engine's database, shared by every engine node. When
the engine gives none (down, slow), the appeal gets a number of this outbox's offline series,
XS20261127-L<series>-0001, counted here per day; the series is the engine's too (asked once, by
the relay, as soon as the engine answers), so two consoles never share one, and offline numbers
never meet the engine's, which have no series. A console that never reached the engine has no
series and refuses appeals (503) while the engine is away.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Callable

from admin_data.environment import Settings
from external_tasks.appeal import APPEAL_PROCESS
from external_tasks.camunda import EngineClient, EngineError
from external_tasks.intake import format_offline_number, take_offline_series

QUEUED, STARTED = "queued", "started"

#: How long a claim keeps others off a row: longer than a check and a start at the client's timeout.
CLAIM_S = 120.0
#: A start that got no answer may still commit; the next check waits this long for it to show.
SETTLE_S = 120.0
#: The engine refused (not deployed yet, wrong credentials): try again after this long.
REFUSED_RETRY_S = 30.0
RELAY_INTERVAL_S = 2.0

SCHEMA = ("""
CREATE TABLE IF NOT EXISTS intake_outbox (
    appeal_number       TEXT PRIMARY KEY,
    status              TEXT NOT NULL CHECK (status IN ('queued', 'started')),
    variables           TEXT,             -- typed process variables (JSON); NULL once started
    process_instance_id TEXT,
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt        REAL NOT NULL,    -- epoch seconds before which no one claims the row
    last_error          TEXT NOT NULL DEFAULT '',
    received_at         TEXT NOT NULL,
    started_at          TEXT
)
""", """
CREATE TABLE IF NOT EXISTS offline_series (
    one     INTEGER PRIMARY KEY CHECK (one = 1),  -- an outbox has one series
    series  INTEGER NOT NULL,
    taken_at TEXT NOT NULL
)
""", """
CREATE TABLE IF NOT EXISTS offline_numbers (
    day   TEXT PRIMARY KEY,   -- yyyymmdd
    last  INTEGER NOT NULL
)
""")

log = logging.getLogger("suban.intake")


def outbox_path(settings: Settings) -> Path:
    return settings.data_dir / "console" / "intake_outbox.sqlite"


def _now_text() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


class IntakeOutbox:
    def __init__(self, path: Path, clock: Callable[[], float] = time.time):
        self.path = Path(path)
        self.clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(self._connection()) as db:
            db.execute("PRAGMA journal_mode=WAL")  # the console's threads and the relay share it
            for statement in SCHEMA:
                db.execute(statement)

    def _connection(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA synchronous=FULL")  # a committed appeal survives a power cut
        return db

    @contextlib.contextmanager
    def _transaction(self):
        """One write transaction, taken at once so two relays cannot both claim a row."""
        with contextlib.closing(self._connection()) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def add(self, number: str, variables: dict, engine_error: EngineError | None = None) -> None:
        """Store a new appeal, claimed by the caller for one attempt at starting it; after an
        `engine_error` (the engine gave no number) due for the relay at once instead."""
        attempts, next_attempt = (0, self.clock()) if engine_error else (1, self.clock() + CLAIM_S)
        with self._transaction() as db:
            db.execute("INSERT INTO intake_outbox (appeal_number, status, variables, attempts, "
                       "next_attempt, last_error, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (number, QUEUED, json.dumps(variables, ensure_ascii=False), attempts,
                        next_attempt, str(engine_error or "")[:1000], _now_text()))

    def offline_series(self) -> int | None:
        with contextlib.closing(self._connection()) as db:
            row = db.execute("SELECT series FROM offline_series").fetchone()
        return row["series"] if row else None

    def keep_offline_series(self, series: int) -> int:
        """Keep `series` unless the outbox has one already; returns the one kept."""
        with self._transaction() as db:
            db.execute("INSERT INTO offline_series VALUES (1, ?, ?) ON CONFLICT DO NOTHING",
                       (series, _now_text()))
            return db.execute("SELECT series FROM offline_series").fetchone()["series"]

    def next_offline_number(self, day: dt.date, engine_error: EngineError) -> str:
        """The next number of `day` in this outbox's offline series, for an appeal the engine
        gave no number (`engine_error`); without a series the engine's error stands."""
        with self._transaction() as db:
            row = db.execute("SELECT series FROM offline_series").fetchone()
            if row is None:
                raise EngineError(f"{engine_error}; no offline number either: this console has "
                                  "not reached the engine yet to get its offline series")
            key = f"{day:%Y%m%d}"
            db.execute("INSERT INTO offline_numbers VALUES (?, 1) ON CONFLICT(day) DO UPDATE "
                       "SET last = last + 1", (key,))
            (last,) = db.execute("SELECT last FROM offline_numbers WHERE day = ?",
                                 (key,)).fetchone()
        return format_offline_number(day, row["series"], last)

    def claim_due(self) -> tuple[str, dict] | None:
        """The oldest queued appeal nobody holds, now held by the caller for `CLAIM_S`."""
        now = self.clock()
        with self._transaction() as db:
            row = db.execute("SELECT appeal_number, variables FROM intake_outbox "
                             "WHERE status = ? AND next_attempt <= ? ORDER BY rowid LIMIT 1",
                             (QUEUED, now)).fetchone()
            if row is None:
                return None
            db.execute("UPDATE intake_outbox SET attempts = attempts + 1, next_attempt = ? "
                       "WHERE appeal_number = ?", (now + CLAIM_S, row["appeal_number"]))
        return row["appeal_number"], json.loads(row["variables"])

    def mark_started(self, number: str, instance_id: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE intake_outbox SET status = ?, process_instance_id = ?, "
                       "variables = NULL, last_error = '', started_at = ? WHERE appeal_number = ?",
                       (STARTED, instance_id, _now_text(), number))

    def retry_later(self, number: str, error: str, delay_s: float) -> None:
        with self._transaction() as db:
            db.execute("UPDATE intake_outbox SET next_attempt = ?, last_error = ? "
                       "WHERE appeal_number = ? AND status = ?",
                       (self.clock() + delay_s, error[:1000], number, QUEUED))

    def entry(self, number: str) -> dict | None:
        with contextlib.closing(self._connection()) as db:
            row = db.execute("SELECT * FROM intake_outbox WHERE appeal_number = ?",
                             (number,)).fetchone()
        return dict(row) | {"variables": json.loads(row["variables"] or "{}")} if row else None


def deliver(outbox: IntakeOutbox, engine: EngineClient, number: str, variables: dict) -> str:
    """Start the appeal's process unless the engine has it already; record the outcome.

    The caller holds the row's claim. Returns the process instance id; raises EngineError
    when the appeal stays queued, after setting when it may be tried again."""
    try:
        existing = engine.get("/history/process-instance", processInstanceBusinessKey=number,
                              processDefinitionKey=APPEAL_PROCESS)
    except EngineError as error:  # nothing was started: try again as soon as the engine answers
        outbox.retry_later(number, str(error), 0 if error.unreachable else REFUSED_RETRY_S)
        raise
    if existing:
        instance_id = existing[0]["id"]
    else:
        try:
            instance_id = engine.post(f"/process-definition/key/{APPEAL_PROCESS}/start", {
                "businessKey": number, "variables": variables})["id"]
        except EngineError as error:
            refused = error.status is not None and error.status < 500
            outbox.retry_later(number, str(error), REFUSED_RETRY_S if refused else SETTLE_S)
            raise
    outbox.mark_started(number, instance_id)
    return instance_id


class IntakeRelay:
    """Starts the queued appeals, oldest first, whenever the engine answers."""

    def __init__(self, outbox: IntakeOutbox, engine: EngineClient,
                 interval_s: float = RELAY_INTERVAL_S):
        self.outbox = outbox
        self.engine = engine
        self.interval_s = interval_s
        self._stopping = threading.Event()

    def relay_due(self) -> list[str]:
        """One pass over the due appeals; returns the numbers whose process now runs."""
        delivered = []
        while claimed := self.outbox.claim_due():
            number, variables = claimed
            try:
                deliver(self.outbox, self.engine, number, variables)
            except EngineError as error:
                log.warning("appeal %s still queued: %s", number, error)
                if error.unreachable:
                    break  # the engine is away: the rest wait for the next pass
                continue
            log.info("appeal %s started from the intake outbox", number)
            delivered.append(number)
        return delivered

    def ensure_offline_series(self) -> None:
        """Gets the outbox its offline series the first time the engine answers."""
        if self.outbox.offline_series() is not None:
            return
        try:
            series = self.outbox.keep_offline_series(take_offline_series(self.engine))
        except EngineError as error:
            log.warning("no offline series for this console yet: %s", error)
            return
        log.info("offline series L%s for appeals taken while the engine is away", series)

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.ensure_offline_series()
                self.relay_due()
            except sqlite3.Error:
                log.exception("intake outbox unreadable; trying again")
            self._stopping.wait(self.interval_s)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="intake-relay", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stopping.set()
