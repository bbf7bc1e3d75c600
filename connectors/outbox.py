"""The durable sent-log: one row per idempotency key, so a message delivered twice is sent once.

A sender claims a key ("sending", with a lease) before it calls the outside system and marks it
"sent" after. A key found "sent" is never sent again. A key found "sending" with a live lease
belongs to another sender (the task was handed out twice at the same time): that delivery backs
off. A key "sending" whose lease ran out was left by a sender that died mid-call; it is sent
again with the same key, which the gateway receives too, so the gateway can drop the copy.

Rows hold no caller data: the recipient is "caller" or a unit id, the detail a masked number.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import time
from pathlib import Path

from connectors.delivery import DeliveryInProgress

SENDING, SENT, FAILED, SKIPPED = "sending", "sent", "failed", "skipped"

SCHEMA = """
CREATE TABLE IF NOT EXISTS sent_log (
    idempotency_key TEXT PRIMARY KEY,
    template        TEXT NOT NULL,
    channel         TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('sending', 'sent', 'failed', 'skipped')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    lease_until     REAL,
    detail          TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
)
"""


def _now_text() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


class Outbox:
    def __init__(self, path: Path, lease_s: float = 300.0):
        self.path = Path(path)
        self.lease_s = lease_s
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._transaction() as db:
            db.execute(SCHEMA)
        with contextlib.closing(self._connection()) as db:
            db.execute("PRAGMA journal_mode=WAL")  # workers in several processes share the file

    def _connection(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        return db

    @contextlib.contextmanager
    def _transaction(self):
        """One write transaction, taken at once so two senders cannot both claim a key."""
        db = self._connection()
        try:
            db.execute("BEGIN IMMEDIATE")
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    def claim(self, key: str, *, template: str, channel: str, recipient: str) -> bool:
        """Claim `key` for sending now. False: it was sent before, nothing to do."""
        now = time.time()
        with self._transaction() as db:
            row = db.execute("SELECT status, lease_until FROM sent_log WHERE idempotency_key = ?",
                             (key,)).fetchone()
            if row and row["status"] == SENT:
                return False
            if row and row["status"] == SENDING and (row["lease_until"] or 0) > now:
                raise DeliveryInProgress(f"{channel} to {recipient} is being sent by another "
                                         f"worker (key {key})")
            db.execute(
                "INSERT INTO sent_log (idempotency_key, template, channel, recipient, status, "
                "attempts, lease_until, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?) "
                "ON CONFLICT (idempotency_key) DO UPDATE SET status = excluded.status, "
                "attempts = attempts + 1, lease_until = excluded.lease_until, "
                "updated_at = excluded.updated_at",
                (key, template, channel, recipient, SENDING, now + self.lease_s,
                 _now_text(), _now_text()))
            return True

    def mark_sent(self, key: str, detail: str = "") -> None:
        self._finish(key, SENT, detail)

    def mark_failed(self, key: str, detail: str) -> None:
        self._finish(key, FAILED, detail)

    def _finish(self, key: str, status: str, detail: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE sent_log SET status = ?, lease_until = NULL, detail = ?, "
                       "updated_at = ? WHERE idempotency_key = ?",
                       (status, detail[:1000], _now_text(), key))

    def record_skipped(self, key: str, *, template: str, channel: str, recipient: str,
                       reason: str) -> None:
        """No channel to send through. Not final: once a channel is configured, a later
        delivery of the same task sends."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO sent_log (idempotency_key, template, channel, recipient, status, "
                "detail, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (idempotency_key) DO UPDATE SET status = excluded.status, "
                "detail = excluded.detail, updated_at = excluded.updated_at "
                "WHERE sent_log.status != 'sent'",
                (key, template, channel, recipient, SKIPPED, reason, _now_text(), _now_text()))

    def entry(self, key: str) -> dict | None:
        with contextlib.closing(self._connection()) as db:
            row = db.execute("SELECT * FROM sent_log WHERE idempotency_key = ?", (key,)).fetchone()
        return dict(row) if row else None

    def entries(self, key_prefix: str = "") -> list[dict]:
        """Rows whose key starts with `key_prefix` (e.g. "<process instance id>:"), oldest first."""
        pattern = key_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with contextlib.closing(self._connection()) as db:
            rows = db.execute("SELECT * FROM sent_log WHERE idempotency_key LIKE ? ESCAPE '\\' "
                              "ORDER BY created_at, rowid", (pattern,)).fetchall()
        return [dict(row) for row in rows]
