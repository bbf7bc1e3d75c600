"""Knowledge entries nearing their valid-until date, on the stack: the daily process's timer,
fired through the job API, has the stack's worker tell the owning unit through its robot
(the recording gateway), once per entry and published version; entries further off, or of
another unit, are not in that unit's notice."""
from __future__ import annotations

import datetime as dt
import json

import yaml

from console.knowledge.store import KnowledgeBase, today_in_shanghai
from external_tasks.appeal import variables_by_instance
from external_tasks.knowledge_expiry import EXPIRY_NOTICE_DAYS, TEMPLATE, expiring_entries
from tests.conftest import wait_until
from tests.helpers import run_daily_process_now

PROCESS = "hotline_knowledge_expiry"


def entry_content(question: str, valid_until: dt.date) -> dict:
    return {"question": question, "answer": "请携带身份证和房产证明到县政务服务中心住建窗口办理。",
            "keywords": "维修基金 提取", "category": "construction.propertyService",
            "policy_doc": "萧住建〔2026〕3号", "policy_url": "",
            "valid_from": "2026-01-01", "valid_until": valid_until.isoformat()}


def published(base: KnowledgeBase, unit: str, question: str, valid_until: dt.date) -> int:
    entry_id = base.create(unit, entry_content(question, valid_until), f"{unit}01")
    base.publish(entry_id, 1, "hotline01")
    return entry_id


def fire_timer(engine) -> dict:
    """Fire the daily timer (midnight) now, then its run time; the variables of the instance it
    started, once done."""
    [job] = engine.get("/job", processDefinitionKey=PROCESS, timers="true")
    before = {instance["id"] for instance in engine.get("/history/process-instance",
                                                         processDefinitionKey=PROCESS)}
    engine.post(f"/job/{job['id']}/execute")
    [started] = [instance["id"] for instance in engine.get(
        "/history/process-instance", processDefinitionKey=PROCESS) if instance["id"] not in before]
    run_daily_process_now(engine, started)
    wait_until(lambda: engine.get(f"/history/process-instance/{started}")["state"] == "COMPLETED",
               timeout=60, what="the knowledge expiry check")
    return variables_by_instance(engine, [started], (
        "expiringKnowledgeEntries", "lastNotification"))[started]


def robot_texts(gateway) -> list[str]:
    return [json.dumps(request["body"], ensure_ascii=False) for request in gateway.requests]


def test_the_unit_is_told_once_per_version_before_its_entry_expires(settings, engine, gateway,
                                                                    restore_config):
    notifications = settings.config_dir / "notifications.yaml"
    config = yaml.safe_load(notifications.read_text("utf-8"))
    config["units"] = {"housing": {"webhook": {"url": gateway.url("/robot/housing"),
                                               "style": "wecom", "format": "text"}}}
    notifications.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), "utf-8")
    base = KnowledgeBase(settings.data_dir / "console" / "knowledge.sqlite")
    today = today_in_shanghai()
    soon = published(base, "housing", "物业维修基金怎么提取（即将到期）", today + dt.timedelta(days=10))
    published(base, "housing", "物业维修基金怎么提取（远未到期）",
              today + dt.timedelta(days=EXPIRY_NOTICE_DAYS + 30))
    published(base, "fengcheng", "街道物业投诉找谁（他单位）", today + dt.timedelta(days=5))
    assert {entry["id"] for entry in expiring_entries(base.path, today)} >= {soon}

    first = fire_timer(engine)
    assert first["expiringKnowledgeEntries"] >= 2 and TEMPLATE in first["lastNotification"]
    told = [text for text in robot_texts(gateway) if "即将到期）" in text]
    assert len(told) == 1 and f"知识条目 {soon}（第 1 版）" in told[0] and "还有 10 天" in told[0]
    assert not [text for text in robot_texts(gateway) if "远未到期" in text or "他单位" in text]

    # The next morning: nothing new for the same version.
    assert "already sent" in fire_timer(engine)["lastNotification"]
    assert len([text for text in robot_texts(gateway) if "即将到期）" in text]) == 1

    # A new version, published with the same dates, is told again, once.
    base.update(soon, entry_content("物业维修基金怎么提取（即将到期）", today + dt.timedelta(days=10)),
                "housing01", base_version=1)
    base.publish(soon, 2, "hotline01")
    fire_timer(engine)
    told = [text for text in robot_texts(gateway) if "即将到期）" in text]
    assert len(told) == 2 and f"知识条目 {soon}（第 2 版）" in told[1]
