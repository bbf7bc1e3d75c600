"""Topic `check-extension-request` (核查延期申请): a unit's request for more time (延期) is
refused when it comes after the completion deadline, asks for more working days than allowed,
or exceeds the number of requests allowed (limits in the hotline settings, `admin_data.hotline`). A refusal is
a business outcome (BPMN error EXTENSION_REFUSED with the reason, shown to the unit); an
admissible request gets the deadline it would have, for the hotline centre to approve.
"""
from __future__ import annotations

import datetime as dt

from admin_data.hotline import HOTLINE
from admin_data.workdays import HOLIDAYS, SHANGHAI
from external_tasks.deadlines import extended_deadline, iso, parse_time
from external_tasks.runtime import BpmnError, TaskRouter

router = TaskRouter()

REFUSED = "EXTENSION_REFUSED"


def refuse(reason: str) -> BpmnError:
    return BpmnError(REFUSED, reason, {"extensionRefusal": reason})


@router.task("check-extension-request")
def check_extension_request(completionDeadline: str, extensionDays: float,
                            deadlineClock: str = "working_days", extensionCount: int | None = 0,
                            extensionDaysTotal: int | None = 0,
                            originalCompletionDeadline: str | None = None):
    limits = HOTLINE.current()["extension"]
    deadline = parse_time(completionDeadline, "completionDeadline")
    if dt.datetime.now(SHANGHAI) >= deadline:
        raise refuse(f"延期须在办结时限 {deadline:%Y-%m-%d %H:%M} 前申请, 现已超过时限")
    if deadlineClock != "working_days":
        raise refuse("紧急件按小时连续计时, 不能申请延期")
    if (extensionCount or 0) >= limits["max_requests"]:
        raise refuse(f"本工单已申请延期 {extensionCount} 次, 最多 {limits['max_requests']} 次")
    if extensionDays != int(extensionDays) or not 1 <= extensionDays <= limits["max_working_days"]:
        raise refuse(f"延期 {extensionDays:g} 个工作日不符合规定, 应为 1 到 "
                     f"{limits['max_working_days']} 之间的整数个工作日")
    proposed = extended_deadline(deadline, int(extensionDays), HOLIDAYS.current())
    return {
        "extensionRefusal": "",
        "extensionProposedDeadline": iso(proposed),
        "extensionRequestNumber": (extensionCount or 0) + 1,
        "extensionProposedTotalDays": (extensionDaysTotal or 0) + int(extensionDays),
        "originalCompletionDeadline": originalCompletionDeadline or completionDeadline,
    }
