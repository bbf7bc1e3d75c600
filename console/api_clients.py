"""The registry of API clients (a partner platform, the desk, a dashboard, the bench): each with
its name, its scopes and its own keys, in <data>/console/api_clients.sqlite.

A key is shown once, when it is made, and kept only as its SHA-256 (a key is 32 random bytes,
so a fast hash is enough: nothing to guess). A client may hold two valid keys while it rotates:
the new one is made, the client switches, then the old one is retired. Revoking a client ends
all its keys at once. Each key remembers when it was last used.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
from pathlib import Path

from admin_data.workdays import SHANGHAI
from console.sqlite_file import SqliteFile

APPEALS_CREATE = "appeals:create"
APPEALS_READ = "appeals:read"
APPEALS_READ_CALLER = "appeals:read:caller"
ASSESSMENT_READ = "assessment:read"
SUPERVISION_CREATE = "supervision:create"
#: A partner's key for POST /open311/v2/requests.json (its `api_key`).
OPEN311_CREATE = "open311:create"
ADMIN = "admin"
SCOPE_NAMES = {
    APPEALS_CREATE: "登记诉求",
    APPEALS_READ: "查询工单 (不含诉求人信息)",
    APPEALS_READ_CALLER: "查询工单 (含诉求人脱敏信息)",
    ASSESSMENT_READ: "读取考核与研判",
    SUPERVISION_CREATE: "发起督办",
    OPEN311_CREATE: "Open311 提交诉求 (合作方 api_key)",
    ADMIN: "管理 (全部接口)",
}
#: For calls any registered client may make (reference data such as the units, the knowledge
#: base); an Open311 partner's key serves only its /open311 calls.
ANY_SCOPE = tuple(scope for scope in SCOPE_NAMES if scope != OPEN311_CREATE)
#: The name under which calls with SUBAN_API_TOKEN are logged, while no client is registered.
BOOTSTRAP_CLIENT = "初始管理令牌 SUBAN_API_TOKEN"
KEY_PREFIX = "suban_"

SCHEMA = """
CREATE TABLE IF NOT EXISTS client (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS client_key (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id INTEGER NOT NULL REFERENCES client (id),
    sha256 TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    created_at TEXT NOT NULL,
    retired_at TEXT,
    last_used_at TEXT
);
"""


@dataclasses.dataclass(frozen=True)
class ApiClient:
    name: str
    scopes: frozenset[str]

    def may(self, allowed: tuple[str, ...]) -> bool:
        return ADMIN in self.scopes or bool(self.scopes & set(allowed))


def _now() -> str:
    return dt.datetime.now(SHANGHAI).isoformat(timespec="seconds")


def _sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiClientStore(SqliteFile):
    def __init__(self, path: Path):
        super().__init__(path, SCHEMA)

    def any_registered(self) -> bool:
        """Whether a client not revoked exists: then SUBAN_API_TOKEN is no longer accepted."""
        with self._connect() as db:
            return db.execute("SELECT 1 FROM client WHERE revoked_at IS NULL").fetchone() is not None

    def register(self, name: str, scopes: list[str], user: str) -> str:
        """The new client's first key, to be shown once."""
        with self._connect() as db:
            client_id = db.execute(
                "INSERT INTO client (name, scopes, created_at, created_by) VALUES (?, ?, ?, ?)",
                (name, " ".join(sorted(scopes)), _now(), user)).lastrowid
            return self._new_key(db, client_id)

    def rotate(self, name: str) -> str:
        """A second valid key for the client; the old ones stay valid until retired."""
        with self._connect() as db:
            return self._new_key(db, self._client_id(db, name))

    def retire_key(self, name: str, key_id: int) -> None:
        with self._connect() as db:
            db.execute("UPDATE client_key SET retired_at = ? WHERE id = ? AND client_id = ? "
                       "AND retired_at IS NULL", (_now(), key_id,
                                                  self._client_id(db, name)))

    def revoke(self, name: str) -> None:
        """The client and all its keys end now."""
        with self._connect() as db:
            client_id = self._client_id(db, name)
            now = _now()
            db.execute("UPDATE client SET revoked_at = ? WHERE id = ?", (now, client_id))
            db.execute("UPDATE client_key SET retired_at = ? WHERE client_id = ? AND "
                       "retired_at IS NULL", (now, client_id))

    def authenticate(self, key: str) -> ApiClient | None:
        """The client holding this valid key (and the key's last use noted), or None."""
        with self._connect() as db:
            row = db.execute(
                "SELECT client_key.id, client.name, client.scopes FROM client_key JOIN client "
                "ON client.id = client_key.client_id WHERE client_key.sha256 = ? AND "
                "client_key.retired_at IS NULL AND client.revoked_at IS NULL",
                (_sha(key),)).fetchone()
            if row is None:
                return None
            db.execute("UPDATE client_key SET last_used_at = ? WHERE id = ?",
                       (_now(), row["id"]))
        return ApiClient(row["name"], frozenset(row["scopes"].split()))

    def clients(self) -> list[dict]:
        """Every client with its keys (hint, made, retired, last used), newest first."""
        with self._connect() as db:
            clients = [dict(row) for row in db.execute("SELECT * FROM client ORDER BY id DESC")]
            for client in clients:
                client["scopes"] = client["scopes"].split()
                client["keys"] = [dict(row) for row in db.execute(
                    "SELECT id, hint, created_at, retired_at, last_used_at FROM client_key "
                    "WHERE client_id = ? ORDER BY id", (client["id"],))]
        return clients

    @staticmethod
    def _client_id(db, name: str) -> int:
        row = db.execute("SELECT id FROM client WHERE name = ? AND revoked_at IS NULL",
                         (name,)).fetchone()
        if row is None:
            raise KeyError(name)
        return row["id"]

    @staticmethod
    def _new_key(db, client_id: int) -> str:
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        db.execute("INSERT INTO client_key (client_id, sha256, hint, created_at) "
                   "VALUES (?, ?, ?, ?)", (client_id, _sha(key), key[:len(KEY_PREFIX) + 4] + "…",
                                           _now()))
        return key
