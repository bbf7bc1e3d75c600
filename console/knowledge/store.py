"""The knowledge base (知识库) in one SQLite file under the data folder
(<data>/console/knowledge.sqlite): entries with every version, the search index over the
published versions, and the searches that found nothing (gaps, per category).

An entry belongs to one unit and one category leaf. A unit's edit makes a new version in draft;
agents go on seeing the version the hotline centre last published until the centre publishes
the new one. A published entry outside its valid-from/valid-until dates is expired: the search
never returns it.

Search: SQLite FTS5 over Chinese character bigrams. Callers say two-character words (社保, 户口,
停水) that FTS5's trigram tokenizer cannot match at all (it needs three characters), so the text
is cut into overlapping bigrams here and indexed with the unicode61 tokenizer; BM25 ranks with
keywords and question weighing more than the answer.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
import sqlite3
from pathlib import Path

import yaml

from admin_data.workdays import SHANGHAI
from console.sqlite_file import SqliteFile
from external_tasks.knowledge_expiry import EXPIRY_NOTICE_DAYS

DRAFT, PUBLISHED, EXPIRED = "draft", "published", "expired"
STATUS_NAMES = {DRAFT: "草稿(待审核)", PUBLISHED: "已发布", EXPIRED: "已过期"}
#: BM25 weights of the indexed columns: question, keywords, answer.
COLUMN_WEIGHTS = (3.0, 4.0, 1.0)
DEMO_FILE = Path(__file__).with_name("demo_entries.yaml")
#: Bigrams of how callers ask, not of what they ask about: left out of the search query.
FILLER_BIGRAMS = frozenset(
    "请问 我想 想问 问一 一下 怎么 么办 怎样 如何 什么 么时 时候 哪里 在哪 可以 能不 不能 需要 要什 "
    "我家 我们 你们 这个 那个 是不 不是 有没 没有 吗？ 了吗 的话 一个 为什 么不 多少 少钱 么样".split())

SCHEMA = """
CREATE TABLE IF NOT EXISTS entry (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    unit TEXT NOT NULL,
    latest_version INTEGER NOT NULL,
    published_version INTEGER,
    demo INTEGER NOT NULL DEFAULT 0,
    -- of the published version, for filtering the search
    category TEXT,
    valid_from TEXT,
    valid_until TEXT
);
CREATE INDEX IF NOT EXISTS entry_unit ON entry (unit);
CREATE TABLE IF NOT EXISTS entry_version (
    entry_id INTEGER NOT NULL REFERENCES entry (id),
    version INTEGER NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    keywords TEXT NOT NULL,
    category TEXT NOT NULL,
    policy_doc TEXT NOT NULL,
    policy_url TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    edited_at TEXT NOT NULL,
    edited_by TEXT NOT NULL,
    published_at TEXT,
    published_by TEXT,
    review_note TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (entry_id, version)
);
CREATE VIRTUAL TABLE IF NOT EXISTS entry_search USING fts5 (
    question, keywords, answer, tokenize = 'unicode61');
CREATE TABLE IF NOT EXISTS gap (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    query TEXT NOT NULL,
    category TEXT NOT NULL,
    searched_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS gap_category ON gap (category);
"""

#: What a unit writes in a version (the rest is bookkeeping).
CONTENT_FIELDS = ("question", "answer", "keywords", "category", "policy_doc", "policy_url",
                  "valid_from", "valid_until")


class KnowledgeError(Exception):
    """A refused change, in Chinese, naming the field at fault (`field`)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclasses.dataclass(frozen=True)
class KnowledgeHit:
    """One search result: the published version agents may read out."""
    entry_id: int
    version: int
    question: str
    answer: str
    keywords: str
    category: str
    unit: str
    policy_doc: str
    policy_url: str
    valid_until: str
    score: float


def bigram_terms(text: str) -> list[str]:
    """Chinese runs cut into overlapping character pairs (a lone character stays whole), latin
    words and numbers lower-cased whole."""
    terms = []
    for run in re.findall(r"[\u3400-\u9fff]+|[0-9a-z]+", text.lower()):
        if run[0].isascii():
            terms.append(run)
        elif len(run) == 1:
            terms.append(run)
        else:
            terms.extend(run[i:i + 2] for i in range(len(run) - 1))
    return terms


def _fts_query(text: str) -> str:
    terms = [term for term in dict.fromkeys(bigram_terms(text)) if term not in FILLER_BIGRAMS]
    # A single character matches the bigrams it starts (水 → 水费, 水压, …).
    return " OR ".join(f'"{term}"*' if len(term) == 1 and not term.isascii() else f'"{term}"'
                       for term in terms)


def today_in_shanghai() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()


def _now() -> str:
    return dt.datetime.now(SHANGHAI).replace(microsecond=0).isoformat()


def entry_status(entry: dict, today: dt.date | None = None) -> str:
    """draft while no version is published; expired when the published one is out of date."""
    if entry["published_version"] is None:
        return DRAFT
    today = (today or today_in_shanghai()).isoformat()
    if not entry["valid_from"] <= today <= entry["valid_until"]:
        return EXPIRED
    return PUBLISHED


class KnowledgeBase(SqliteFile):
    # Searches read while a unit writes; with WAL, NORMAL syncs at checkpoints only.
    CONNECTION_SETUP = ("PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL")

    def __init__(self, path: Path):
        super().__init__(path, SCHEMA)

    # -- writing ---------------------------------------------------------------------------------

    def create(self, unit: str, content: dict, user: str, demo: bool = False) -> int:
        """A new entry of `unit`, version 1 in draft; returns its id."""
        with self._connect() as db:
            return self._create(db, unit, content, user, demo)

    def _create(self, db, unit: str, content: dict, user: str, demo: bool) -> int:
        entry_id = db.execute("INSERT INTO entry (unit, latest_version, demo) VALUES (?, 1, ?)",
                              (unit, int(demo))).lastrowid
        self._insert_version(db, entry_id, 1, content, user)
        return entry_id

    def update(self, entry_id: int, content: dict, user: str, base_version: int) -> int:
        """A new draft version of the entry; `base_version` is the version the editor started
        from, so two people editing at once do not overwrite each other. Returns the version."""
        with self._connect() as db:
            entry = self._entry_row(db, entry_id)
            if entry["latest_version"] != base_version:
                raise KnowledgeError("base_version", (
                    f"条目已被他人修改为第 {entry['latest_version']} 版, 您编辑的是第 "
                    f"{base_version} 版: 请刷新后重新修改"))
            version = base_version + 1
            self._insert_version(db, entry_id, version, content, user)
            db.execute("UPDATE entry SET latest_version = ? WHERE id = ?", (version, entry_id))
        return version

    @staticmethod
    def _insert_version(db, entry_id: int, version: int, content: dict, user: str) -> None:
        values = {field: str(content.get(field) or "") for field in CONTENT_FIELDS}
        db.execute(
            "INSERT INTO entry_version (entry_id, version, edited_at, edited_by, "
            f"{', '.join(CONTENT_FIELDS)}) VALUES (?, ?, ?, ?, "
            f"{', '.join('?' * len(CONTENT_FIELDS))})",
            (entry_id, version, _now(), user, *values.values()))

    def publish(self, entry_id: int, version: int, user: str, note: str = "") -> None:
        """The hotline centre publishes `version` (the newest): agents see it from now on."""
        with self._connect() as db:
            self._publish(db, entry_id, version, user, note)

    def _publish(self, db, entry_id: int, version: int, user: str, note: str) -> None:
        entry = self._entry_row(db, entry_id)
        if version != entry["latest_version"]:
            raise KnowledgeError("version", f"只能发布最新的第 {entry['latest_version']} 版")
        if version == entry["published_version"]:
            raise KnowledgeError("version", f"第 {version} 版已经发布")
        row = db.execute("SELECT * FROM entry_version WHERE entry_id = ? AND version = ?",
                         (entry_id, version)).fetchone()
        db.execute("UPDATE entry_version SET published_at = ?, published_by = ?, "
                   "review_note = ? WHERE entry_id = ? AND version = ?",
                   (_now(), user, note, entry_id, version))
        db.execute("UPDATE entry SET published_version = ?, category = ?, valid_from = ?, "
                   "valid_until = ? WHERE id = ?", (version, row["category"],
                                                    row["valid_from"], row["valid_until"],
                                                    entry_id))
        db.execute("DELETE FROM entry_search WHERE rowid = ?", (entry_id,))
        db.execute("INSERT INTO entry_search (rowid, question, keywords, answer) "
                   "VALUES (?, ?, ?, ?)", (entry_id, *(
                       " ".join(bigram_terms(row[column]))
                       for column in ("question", "keywords", "answer"))))

    def return_to_unit(self, entry_id: int, version: int, user: str, note: str) -> None:
        """The centre sends a draft back with what to change; it stays a draft."""
        with self._connect() as db:
            self._entry_row(db, entry_id)
            db.execute("UPDATE entry_version SET review_note = ? WHERE entry_id = ? AND "
                       "version = ? AND published_at IS NULL", (f"{user}: {note}", entry_id, version))

    # -- reading ---------------------------------------------------------------------------------

    @staticmethod
    def _entry_row(db, entry_id: int) -> sqlite3.Row:
        row = db.execute("SELECT * FROM entry WHERE id = ?", (entry_id,)).fetchone()
        if row is None:
            raise KnowledgeError("entry_id", f"没有编号为 {entry_id} 的知识条目")
        return row

    def entry(self, entry_id: int) -> dict:
        """The entry with its newest version's content, its status, a pending draft flag and
        every version, newest first."""
        with self._connect() as db:
            entry = dict(self._entry_row(db, entry_id))
            versions = [dict(row) for row in db.execute(
                "SELECT * FROM entry_version WHERE entry_id = ? ORDER BY version DESC",
                (entry_id,))]
        return self._described(entry, versions)

    @staticmethod
    def _described(entry: dict, versions: list[dict]) -> dict:
        latest = versions[0]
        return entry | {field: latest[field] for field in CONTENT_FIELDS} | {
            "demo": bool(entry["demo"]), "status": entry_status(entry),
            "pending_review": entry["latest_version"] != entry["published_version"],
            "review_note": latest["review_note"] if latest["published_at"] is None else "",
            "versions": versions}

    def published_version(self, entry_id: int, version: int) -> dict | None:
        """A published version as agents saw it, or None."""
        with self._connect() as db:
            row = db.execute("SELECT * FROM entry_version WHERE entry_id = ? AND version = ? "
                             "AND published_at IS NOT NULL", (entry_id, version)).fetchone()
        return dict(row) if row else None

    def entries(self, unit: str | None = None, pending_only: bool = False) -> list[dict]:
        """Entries with their newest content, of one unit or all; `pending_only`: those with a
        version the centre has not published yet."""
        where, params = [], []
        if unit is not None:
            where.append("e.unit = ?")
            params.append(unit)
        if pending_only:
            where.append("e.published_version IS NOT e.latest_version")
        with self._connect() as db:
            rows = db.execute(
                "SELECT e.*, v.question, v.category AS latest_category, v.valid_until AS "
                "latest_valid_until, v.edited_at, v.edited_by, v.review_note FROM entry e "
                "JOIN entry_version v ON v.entry_id = e.id AND v.version = e.latest_version"
                + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY e.id", params)
            return [dict(row) | {"status": entry_status(dict(row)), "pending_review":
                                 row["published_version"] != row["latest_version"]}
                    for row in rows]

    def expiring(self, unit: str, within_days: int = EXPIRY_NOTICE_DAYS,
                 today: dt.date | None = None) -> list[dict]:
        """The unit's published entries whose valid-until falls within `within_days`."""
        today = today or today_in_shanghai()
        until = (today + dt.timedelta(days=within_days)).isoformat()
        return [entry for entry in self.entries(unit)
                if entry["status"] == PUBLISHED and entry["valid_until"] <= until]

    def search(self, query: str, category: str | None = None, boost_category: str | None = None,
               limit: int = 10, today: dt.date | None = None,
               record_gap: bool = True) -> list[KnowledgeHit]:
        """Published, valid entries matching `query`, best first. `category`: only this leaf or
        the leaves under this top category; `boost_category`: this category's entries rank
        higher. Nothing found is kept as a gap of the category (or of none)."""
        match, today = _fts_query(query), today or today_in_shanghai()
        hits = []
        if match:
            # Question and keywords first: they outweigh the answer, and matching only them
            # ranks far fewer rows; the answer too when they give fewer than `limit`.
            hits = self._matching(f"{{question keywords}}: ({match})", category, boost_category,
                                  limit, today)
            if len(hits) < limit:
                hits = self._matching(match, category, boost_category, limit, today)
        if not hits and record_gap and query.strip():
            with self._connect() as db:
                db.execute("INSERT INTO gap (query, category, searched_at) VALUES (?, ?, ?)",
                           (query.strip()[:200], category or boost_category or "", _now()))
        return hits

    def _matching(self, match: str, category: str | None, boost_category: str | None,
                  limit: int, today: dt.date) -> list[KnowledgeHit]:
        weights = ", ".join(str(weight) for weight in COLUMN_WEIGHTS)
        # bm25 is negative, lower is better: a boost multiplies it. Ranked on the small entry
        # rows first; only the best `limit` read their text.
        sql = (f"SELECT e.id, e.unit, e.published_version, bm25(entry_search, {weights}) * "
               "(CASE WHEN e.category = :boost OR e.category LIKE :boost || '.%' THEN 2.0 "
               "ELSE 1.0 END) AS score FROM entry_search "
               "JOIN entry e ON e.id = entry_search.rowid "
               "WHERE entry_search MATCH :match AND e.valid_from <= :today "
               "AND e.valid_until >= :today")
        if category:
            sql += " AND (e.category = :category OR e.category LIKE :category || '.%')"
        sql = (f"SELECT best.*, v.* FROM ({sql} ORDER BY score LIMIT :limit) best "
               "JOIN entry_version v ON v.entry_id = best.id AND v.version = "
               "best.published_version ORDER BY best.score")
        with self._connect() as db:
            rows = db.execute(sql, {"match": match, "today": today.isoformat(),
                                    "category": category, "boost": boost_category or "",
                                    "limit": limit}).fetchall()
        return [KnowledgeHit(entry_id=row["id"], version=row["published_version"],
                             question=row["question"], answer=row["answer"],
                             keywords=row["keywords"], category=row["category"],
                             unit=row["unit"], policy_doc=row["policy_doc"],
                             policy_url=row["policy_url"], valid_until=row["valid_until"],
                             score=-row["score"]) for row in rows]

    def gaps(self, categories: set[str] | None = None) -> list[dict]:
        """Searches that found nothing, grouped by category and query, most asked first;
        `categories`: only these (a unit's own)."""
        with self._connect() as db:
            rows = [dict(row) for row in db.execute(
                "SELECT category, query, count(*) AS times, max(searched_at) AS last_searched "
                "FROM gap GROUP BY category, query ORDER BY times DESC, last_searched DESC")]
        return [row for row in rows if categories is None or row["category"] in categories]

    def load_demo(self, user: str = "demo", today: dt.date | None = None) -> int:
        """The shipped demo entries, published, once (into an empty knowledge base only);
        returns how many were loaded."""
        with self._connect() as db:
            if db.execute("SELECT count(*) FROM entry").fetchone()[0]:
                return 0
        today = today or today_in_shanghai()
        entries = [item | {"valid_from": today.replace(month=1, day=1).isoformat(),
                           "valid_until": (today + dt.timedelta(
                               days=item.get("valid_days", 730))).isoformat(),
                           "policy_doc": item.get("policy_doc", "演示内容, 非正式政策")}
                   for item in yaml.safe_load(DEMO_FILE.read_text("utf-8"))]
        self.add_published(entries, user, demo=True, note="演示条目")
        return len(entries)

    def add_published(self, entries: list[dict], user: str, demo: bool, note: str) -> None:
        """Entries (content and `unit`) created and published at once, in one transaction: an
        import, the demo content, a benchmark's corpus."""
        with self._connect() as db:
            for item in entries:
                entry_id = self._create(db, item["unit"], item, user, demo)
                self._publish(db, entry_id, 1, user, note)
