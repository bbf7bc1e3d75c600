"""Every saved version of every admin file, and the audit trail of admin actions (who, when,
what, why), in one SQLite file under the data folder (<data>/console/admin.sqlite).

The files themselves stay where the workers read them; this store only remembers what they held,
so any earlier version can be restored (restoring saves it again, as a new version).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from flask import current_app

from admin_data.workdays import SHANGHAI
from console.sqlite_file import SqliteFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS version (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file TEXT NOT NULL,
    saved_at TEXT NOT NULL,
    user TEXT NOT NULL,
    reason TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    content BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS version_file ON version (file, id);
CREATE TABLE IF NOT EXISTS console_session (
    id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    user TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL
);
"""

#: Who saved a file's content that was on disk before its first save through the console.
BEFORE_CONSOLE = "（保存前的文件）"


def timestamp_now() -> str:
    return dt.datetime.now(SHANGHAI).replace(microsecond=0).isoformat()


def current_store() -> "AdminStore":
    """The app's store, one per app, in <data>/console/admin.sqlite."""
    if "SUBAN_ADMIN_STORE" not in current_app.config:
        current_app.config["SUBAN_ADMIN_STORE"] = AdminStore(
            current_app.config["SUBAN_SETTINGS"].data_dir / "console" / "admin.sqlite")
    return current_app.config["SUBAN_ADMIN_STORE"]


class AdminStore(SqliteFile):
    def __init__(self, path: Path):
        super().__init__(path, SCHEMA)

    def record(self, user: str, action: str, target: str, reason: str = "",
               detail: str = "") -> int:
        """One line of the audit trail."""
        with self._connect() as db:
            return db.execute(
                "INSERT INTO audit (at, user, action, target, reason, detail) "
                "VALUES (?, ?, ?, ?, ?, ?)", (timestamp_now(), user, action, target, reason, detail)).lastrowid

    def start_session(self, session_id: str, user: str) -> None:
        with self._connect() as db:
            db.execute("INSERT INTO console_session (id, user, started_at) VALUES (?, ?, ?)",
                       (session_id, user, timestamp_now()))

    def session_live(self, session_id: str, user: str) -> bool:
        with self._connect() as db:
            return db.execute("SELECT 1 FROM console_session WHERE id = ? AND user = ? AND "
                              "ended_at IS NULL", (session_id, user)).fetchone() is not None

    def end_sessions(self, user: str, session_id: str | None = None) -> None:
        """End one session of the user (logout), or all of them (a new password)."""
        with self._connect() as db:
            db.execute("UPDATE console_session SET ended_at = ? WHERE user = ? AND "
                       "ended_at IS NULL AND (? IS NULL OR id = ?)",
                       (timestamp_now(), user, session_id, session_id))

    def audit(self, limit: int = 500) -> list[dict]:
        with self._connect() as db:
            return [dict(row) for row in db.execute(
                "SELECT * FROM audit ORDER BY id DESC LIMIT ?", (limit,))]

    def save_version(self, file: str, previous: bytes | None, content: bytes, user: str,
                     reason: str) -> int:
        """Keep `content` as the newest version of `file`. `previous` (what the file held before)
        is kept first when the store does not hold it as the newest version yet, e.g. before the
        first save through the console or after an edit outside it, so that it can be restored."""
        with self._connect() as db:
            latest = db.execute("SELECT sha256 FROM version WHERE file = ? ORDER BY id DESC "
                                "LIMIT 1", (file,)).fetchone()
            if previous is not None and (latest is None or latest["sha256"] != _sha(previous)):
                self._insert(db, file, previous, BEFORE_CONSOLE, "控制台保存前文件中的内容")
            return self._insert(db, file, content, user, reason)

    @staticmethod
    def _insert(db, file: str, content: bytes, user: str, reason: str) -> int:
        return db.execute(
            "INSERT INTO version (file, saved_at, user, reason, sha256, content) "
            "VALUES (?, ?, ?, ?, ?, ?)", (file, timestamp_now(), user, reason, _sha(content), content)
        ).lastrowid

    def versions(self, file: str) -> list[dict]:
        """Newest first, without the content."""
        with self._connect() as db:
            return [dict(row) for row in db.execute(
                "SELECT id, file, saved_at, user, reason, sha256, length(content) AS size "
                "FROM version WHERE file = ? ORDER BY id DESC", (file,))]

    def version(self, file: str, version_id: int) -> dict | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM version WHERE file = ? AND id = ?",
                             (file, version_id)).fetchone()
        return dict(row) if row else None


def _sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
