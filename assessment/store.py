"""The analytical store: one row per appeal, synced from the engine's history.

SQLite, not DuckDB. The console reads the store while a sync writes it, often from two
processes: SQLite in WAL mode lets readers go on during a write, while a DuckDB file can be open
read-write in only one process at a time. A county's year is ~100,000 rows; SQLite groups them
for every unit in well under the 2 s target (bench/assessment_indicators.py prints the figure),
so a column store's speed buys nothing here, and SQLite ships with Python.

Rows are keyed by appeal number and written with upserts; the sync watermark is written in the
same transaction as the rows it covers, so an interrupted sync resumes where its last committed
page ended and never counts an appeal twice. A closed appeal's row is never overwritten by an
open one (an appeal does not reopen: such a write is a stale read of a sync running alongside).

Reports read the view `reported_appeals` that `report_scope` makes on their connection: real
appeals only, or with the synthetic ones when asked (and then the report says so).
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

from admin_data.environment import Settings

#: Columns of `appeals`, in order. Dates are ISO 8601 in Asia/Shanghai; flags are 0/1.
COLUMNS = (
    "appeal_number",          # XSyyyymmdd-nnnn
    "source",                 # engine | synthetic (the bulk loader's rows, for scale tests)
    "state",                  # open | closed
    "received_at",            # 受理时间: puts the appeal in a period
    "received_date",          # its date (YYYY-MM-DD)
    "received_week",          # the Monday of its week (YYYY-MM-DD)
    "closed_at",
    "title",                  # the appeal's title (no caller data): what drill-downs list
    "kind", "category_code", "township", "lead_unit", "co_units",  # co_units: JSON list
    "important", "leader_received", "closed_as", "evaluation", "solved_confirmed",
    "dispatched",             # reached a unit (at least one unit-handling run)
    "unit_runs",              # unit-handling runs (a re-dispatch or a return adds one)
    "redispatch_count", "return_count", "improper_return_count",
    "sign_for_judged", "sign_for_on_time",
    "feedback_judged", "feedback_on_time",
    "completion_judged", "completion_on_time",
    "sign_for_overdue", "feedback_overdue", "completion_overdue", "overdue",
    # Per deadline, the run that decided the outcome (the first late one, else the last judged):
    # its deadline and when the unit acted (null: not yet), what drill-downs show.
    "sign_for_deadline", "sign_for_done_at",
    "feedback_deadline", "feedback_done_at",
    "completion_deadline", "completion_done_at",
    "extension_approved",
    "supervision_level1", "supervision_level2", "supervision_level3",
    "consultations", "consultation_outcome", "tolerance_flag",
    "callback_attempts",
    "caller_key",             # keyed hash of the caller's phone: finds repeats, shows no one
    "address_key",            # township + normalised address
    "major_risk_words",
    "merged_into",            # 并案: the main appeal's number (null: not merged)
)

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS appeals (
    appeal_number TEXT PRIMARY KEY,
    {", ".join(f"{column}" for column in COLUMNS[1:])}
);
CREATE INDEX IF NOT EXISTS appeals_received ON appeals (received_date);
CREATE INDEX IF NOT EXISTS appeals_week ON appeals (received_week, township, category_code);
CREATE TABLE IF NOT EXISTS sync_state (name TEXT PRIMARY KEY, value TEXT);
"""


def store_path(settings: Settings) -> Path:
    return settings.data_dir / "assessment" / "appeals.sqlite3"


#: sync_state entry holding the closed pass's watermark (assessment.sync reads and moves it).
WATERMARK = "closed_watermark"


def connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=60, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(SCHEMA)
    _add_new_columns(db)
    return db


def _add_new_columns(db: sqlite3.Connection) -> None:
    """A store made before a column was added gets it, and its watermark is dropped so that the
    next sync reads every appeal again and fills it in."""
    present = {row["name"] for row in db.execute("PRAGMA table_info(appeals)")}
    missing = [column for column in COLUMNS if column not in present]
    if not missing:
        return
    db.execute("BEGIN IMMEDIATE")
    present = {row["name"] for row in db.execute("PRAGMA table_info(appeals)")}
    for column in (column for column in COLUMNS if column not in present):
        db.execute(f"ALTER TABLE appeals ADD COLUMN {column}")
    db.execute("DELETE FROM sync_state WHERE name = ?", (WATERMARK,))
    db.execute("COMMIT")


_UPSERT = (f"INSERT INTO appeals ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
           f"ON CONFLICT(appeal_number) DO UPDATE SET "
           + ", ".join(f"{column} = excluded.{column}" for column in COLUMNS[1:])
           + " WHERE appeals.state = 'open' OR excluded.state = 'closed'")

SYNTHETIC = "synthetic"  # `source` of the bulk loader's rows (assessment.synthetic)


def report_scope(db: sqlite3.Connection, include_synthetic: bool) -> None:
    """Make `reported_appeals`, what this connection's reports count: the real appeals, and the
    synthetic ones too when `include_synthetic`."""
    db.execute("DROP VIEW IF EXISTS temp.reported_appeals")
    where = "" if include_synthetic else f" WHERE source <> '{SYNTHETIC}'"
    db.execute(f"CREATE TEMP VIEW reported_appeals AS SELECT * FROM appeals{where}")


def synthetic_count(db: sqlite3.Connection, start: str, end: str) -> int:
    """Synthetic appeals the scope counts, received from `start` to `end` (ISO dates)."""
    return db.execute("SELECT COUNT(*) FROM reported_appeals WHERE source = ? AND "
                      "received_date BETWEEN ? AND ?", (SYNTHETIC, start, end)).fetchone()[0]


def upsert(db: sqlite3.Connection, rows: list[dict]) -> None:
    """Write rows (inside the caller's transaction)."""
    db.executemany(_UPSERT, [tuple(row[column] for column in COLUMNS) for row in rows])


def state(db: sqlite3.Connection, name: str) -> str | None:
    found = db.execute("SELECT value FROM sync_state WHERE name = ?", (name,)).fetchone()
    return found["value"] if found else None


def set_state(db: sqlite3.Connection, name: str, value: str) -> None:
    db.execute("INSERT INTO sync_state VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET "
               "value = excluded.value", (name, value))
