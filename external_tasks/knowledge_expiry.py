"""Topic `notify-expiring-knowledge` (提醒知识条目即将到期): an entry of the knowledge base (知识库)
must not expire unnoticed, since agents never see an expired answer. Every morning
`bpmn/hotline_knowledge_expiry.bpmn` tells each unit which of its published entries reach their
valid-until date within `EXPIRY_NOTICE_DAYS` (template `knowledge_expiring`, by e-mail and robot
message like every unit notice). Each entry's published version is told once per validity (the
notice's scope holds entry, version and valid-until): a new version or new dates give a new
notice, the next mornings none.

The knowledge base is the console's (<data>/console/knowledge.sqlite, written by
console/knowledge/store.py); this worker only reads it, so it runs where the console's data
folder is (the single host of the demo; the console host of two).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from pathlib import Path

from admin_data.environment import Settings
from connectors import summary
from external_tasks.daily_run import timer_day
from external_tasks.camunda import EngineClient, LockedTask
from external_tasks.notify import UNDELIVERABLE, current_notifier
from external_tasks.runtime import TaskRouter

router = TaskRouter()

TEMPLATE = "knowledge_expiring"
#: How many days before its valid-until an entry is listed to its unit and its unit told.
EXPIRY_NOTICE_DAYS = 30


def knowledge_path(settings: Settings | None = None) -> Path:
    return (settings or Settings.from_env()).data_dir / "console" / "knowledge.sqlite"


def expiring_entries(path: Path, today: dt.date,
                     within_days: int = EXPIRY_NOTICE_DAYS) -> list[dict]:
    """The published versions valid today whose valid-until falls within `within_days`, by unit
    and date: entry id, version, unit, question, valid_until."""
    if not path.exists():  # no entry written yet
        return []
    until = today + dt.timedelta(days=within_days)
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute(
            "SELECT e.id, e.published_version AS version, e.unit, v.question, e.valid_until "
            "FROM entry e JOIN entry_version v ON v.entry_id = e.id AND "
            "v.version = e.published_version WHERE e.valid_from <= :today AND "
            "e.valid_until BETWEEN :today AND :until ORDER BY e.unit, e.valid_until, e.id",
            {"today": today.isoformat(), "until": until.isoformat()})]


# A template error stops in an incident: fix notifications.yaml and retry it in Cockpit.
@router.task("notify-expiring-knowledge", incident_on=UNDELIVERABLE)
def notify_expiring_knowledge(task: LockedTask, engine: EngineClient,
                              checkDay: str | None = None):
    today = timer_day(task, engine, checkDay)
    entries = expiring_entries(knowledge_path(), today)
    notifier = current_notifier()
    deliveries = []
    for entry in entries:
        days = (dt.date.fromisoformat(entry["valid_until"]) - today).days
        deliveries += notifier.notify_units(TEMPLATE, [entry["unit"]], {"alertReason": (
            f"知识条目 {entry['id']}（第 {entry['version']} 版）「{entry['question']}」将于 "
            f"{entry['valid_until']} 到期（还有 {days} 天）")},
            scope=f"knowledge-expiring:{entry['id']}:v{entry['version']}:{entry['valid_until']}")
    return {"expiringKnowledgeEntries": len(entries),
            "lastNotification": summary(TEMPLATE, deliveries)}
