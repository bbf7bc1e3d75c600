"""Topic `prepare-supervision` (拟定督办单): who supervises at this level, and by when the unit
must respond to the supervision order.

三级督办: level 1 the hotline centre, level 2 the supervision office (县督查考核办), level 3
the county leader in charge of the lead unit. Offices are found in the directory by their
kind and the leader by `in_charge_of`, so a change of office or portfolio is a data change.
The unit's response period per level is in the hotline settings (`admin_data.hotline`, working days).
"""
from __future__ import annotations

import datetime as dt

from admin_data.directory import DIRECTORY, Directory, DirectoryError
from admin_data.hotline import HOTLINE, SUPERVISION_LEVELS
from admin_data.workdays import HOLIDAYS, SHANGHAI
from external_tasks.deadlines import iso
from external_tasks.runtime import IncidentError, TaskRouter

router = TaskRouter()

LEVEL_NAMES = {1: "一级督办", 2: "二级督办", 3: "三级督办"}
#: The directory kind of the office that supervises at levels 1 and 2.
OFFICE_KINDS = {1: "hotline_centre", 2: "supervision_office"}
TRIGGERS = {
    "sign_for_overdue": "承办单位超时未签收 (应办未办)",
    "feedback_overdue": "承办单位超时未首次反馈 (应办未办)",
    "completion_overdue": "工单超期未办结",
    "unsatisfied_reasonable": "诉求人不满意且诉求合理",
    "requested": "热线中心发起督办",
}


def supervisor(directory: Directory, level: int,
               lead_unit: str) -> tuple[str | None, str | None, str]:
    """(office group, leader user id, display name) of the level's supervisor: the order goes to
    the office's group at levels 1 and 2, and at level 3 to the leader in charge alone, never
    also to the county leaders' group (another leader must not work it)."""
    if level in OFFICE_KINDS:
        office = next((unit for unit in directory.units if unit.kind == OFFICE_KINDS[level]), None)
        if office is None:
            raise DirectoryError(f"directory.yaml: 没有类型为 {OFFICE_KINDS[level]} 的单位, "
                                 f"{LEVEL_NAMES[level]}无人签发, 请在单位目录中添加该办公室")
        return office.id, None, office.name
    leader = next((leader for leader in directory.leaders if lead_unit in leader.in_charge_of),
                  None)
    if leader is None:
        raise DirectoryError(f"directory.yaml: 没有县领导分管 '{lead_unit}' (in_charge_of), 三级督办"
                             "无人签发, 请在单位目录中为该单位指定分管县领导")
    return None, leader.id, leader.name


@router.task("prepare-supervision")
def prepare_supervision(supervisionLevel: int, leadUnit: str, supervisionTrigger: str):
    if supervisionLevel not in SUPERVISION_LEVELS:
        raise IncidentError(f"prepare-supervision: supervisionLevel is {supervisionLevel!r}, "
                            "expected 1, 2 or 3 (fix the call activity's input)")
    office, leader, name = supervisor(DIRECTORY.current(), supervisionLevel, leadUnit)
    days = HOTLINE.current()["supervision"]["response_working_days"][supervisionLevel]
    due = HOLIDAYS.current().end_of_working_days(dt.datetime.now(SHANGHAI), days)
    return {
        "supervisingOffice": office,
        "supervisingLeader": leader,
        "supervisorName": name,
        "supervisedByLeader": supervisionLevel == 3,
        "supervisionLevelName": f"{LEVEL_NAMES[supervisionLevel]} · {name}",
        "supervisionTriggerName": TRIGGERS.get(supervisionTrigger, supervisionTrigger),
        "supervisionResponseDeadline": iso(due),
        "supervisionResponseOverdue": False,
    }
