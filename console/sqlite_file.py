"""The console's own SQLite files under the data folder (admin versions, knowledge base,
self-query attempts): made with their schema on first use, one transaction per connection."""
from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path


class SqliteFile:
    #: Statements run on every connection before its transaction (e.g. PRAGMAs).
    CONNECTION_SETUP: tuple[str, ...] = ()

    def __init__(self, path: Path, schema: str):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(schema)

    @contextlib.contextmanager
    def _connect(self):
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        for statement in self.CONNECTION_SETUP:
            db.execute(statement)
        try:
            with db:  # one transaction
                yield db
        finally:
            db.close()
