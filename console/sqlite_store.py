"""A SQLite file of the console's own (the admin store, the API clients): its tables made on
first use, one transaction per `_connect()`."""
from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path


class SqliteStore:
    #: The statements that make the store's tables (each `CREATE ... IF NOT EXISTS`).
    SCHEMA = ""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(self.SCHEMA)

    @contextlib.contextmanager
    def _connect(self):
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        try:
            with db:  # one transaction
                yield db
        finally:
            db.close()
