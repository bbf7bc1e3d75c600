"""Topic `alert-major-risk` (重大风险预警): an appeal that names a major risk at intake — 群体性,
安全事故, 人身伤害 and the other words of the assessment settings (`admin_data.assessment`) — alerts the hotline
centre and, when the appeal came in during a leader's duty slot, the duty leader (variable
dutyLeader), at once, through the connectors.

Sets `majorRiskWords` (the words found, [] when none; 研判 counts them) and, when it alerted,
`lastNotification`. Messages carry the connectors' idempotency keys, so a task delivered twice
alerts nobody twice. No caller data goes into the alert.
"""
from __future__ import annotations

import datetime as dt
import re

from admin_data.assessment import ASSESSMENT
from admin_data.directory import DIRECTORY
from admin_data.workdays import SHANGHAI
from connectors import summary
from external_tasks.camunda import LockedTask
from external_tasks.notify import HOTLINE_UNIT, NOTIFICATION_VARIABLES, UNDELIVERABLE, current_notifier
from external_tasks.runtime import TaskRouter

router = TaskRouter()

HOTLINE_TEMPLATE = "hotline_major_risk"
LEADER_TEMPLATE = "leader_major_risk"
SEARCHED = ("title", "content", "address")


def risk_words_in(texts: list[str | None], words: tuple[str, ...]) -> list[str]:
    """The words found in the texts, in the list's order; spaces inside a word do not hide it."""
    joined = re.sub(r"\s+", "", "\n".join(text or "" for text in texts))
    return [word for word in dict.fromkeys(words) if re.sub(r"\s+", "", word) in joined]


def _leader_line(variables: dict, words: list[str]) -> str:
    unit = DIRECTORY.current().unit(variables.get("township") or "")
    place = unit.name if unit else "未填写乡镇"
    return (f"{variables.get('appealNumber')}「{variables.get('title') or ''}」（{place}；"
            f"风险词：{'、'.join(words)}）")


@router.task("alert-major-risk", variables=sorted(set(NOTIFICATION_VARIABLES) | {"dutyLeader"}),
             incident_on=UNDELIVERABLE)
def alert_major_risk(task: LockedTask, dutyLeader: str | None = None, **variables):
    words = risk_words_in([variables.get(name) for name in SEARCHED],
                          ASSESSMENT.current().major_risk_words)
    if not words:
        return {"majorRiskWords": []}
    scope = f"{task.process_instance_id}:{task.activity_instance_id}"
    reason = f"涉及重大风险（{'、'.join(words)}），请立即研判处置"
    notifier = current_notifier()
    deliveries = notifier.notify_units(HOTLINE_TEMPLATE, [HOTLINE_UNIT],
                                       variables | {"alertReason": reason}, scope=scope)
    if dutyLeader:
        deliveries += notifier.notify_leaders(LEADER_TEMPLATE, {dutyLeader: {
            "digestDay": dt.datetime.now(SHANGHAI).date().isoformat(),
            "appealCount": "1", "appealList": _leader_line(variables, words)}}, scope=scope)
    return {"majorRiskWords": words,
            "lastNotification": summary(HOTLINE_TEMPLATE, deliveries)}
