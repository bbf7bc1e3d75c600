"""The directory of units synced into the engine.

Each unit is a Camunda group; its users see and work only the tasks whose candidate group is
the unit (the engine grants a candidate group READ and TASK_WORK on the task). The sync also
gives every unit Tasklist access and the shared task filters, and creates the workers'
technical account with just the rights external tasks need.
"""
from __future__ import annotations

import dataclasses
import logging

import pycamunda.group
import pycamunda.user

from admin_data.directory import LEADERS_GROUP, Directory
from admin_data.environment import Settings
from external_tasks.appeal import APPEAL_PROCESS
from deploy.tasklist_filters import KIND_FILTERS, sync_task_filters
from external_tasks.camunda import EngineClient, EngineError

WORKERS_GROUP = "subanworkers"

log = logging.getLogger("suban.directory")

# -- sync into the engine ------------------------------------------------------------------------

# Camunda resource types and the permissions we grant (see the engine's Resources/Permissions).
APPLICATION, FILTER, PROCESS_DEFINITION, PROCESS_INSTANCE, DECISION_DEFINITION = 0, 5, 6, 8, 10
GRANT = 1

#: Hotline agents register appeals with the start form in Tasklist (登记诉求).
KIND_GRANTS = {
    "hotline_centre": ((PROCESS_DEFINITION, APPEAL_PROCESS, ("READ", "CREATE_INSTANCE")),
                       (PROCESS_INSTANCE, "*", ("CREATE",))),
}

WORKER_GRANTS = (
    (PROCESS_INSTANCE, ("READ", "UPDATE")),
    (PROCESS_DEFINITION, ("READ", "READ_INSTANCE", "UPDATE_INSTANCE", "READ_HISTORY")),
    (DECISION_DEFINITION, ("READ", "CREATE_INSTANCE")),
)


@dataclasses.dataclass
class SyncReport:
    changes: list[str] = dataclasses.field(default_factory=list)

    def change(self, what: str) -> None:
        self.changes.append(what)
        log.info("directory sync: %s", what)


class DirectorySync:
    def __init__(self, client: EngineClient, settings: Settings, report: SyncReport | None = None):
        self.client = client
        self.settings = settings
        self.report = report or SyncReport()

    def run(self, directory: Directory) -> SyncReport:
        filter_ids = sync_task_filters(self.client, self.report.change)
        kind_filter_ids = {kind: sync_task_filters(self.client, self.report.change, filters)
                           for kind, filters in KIND_FILTERS.items()}
        for unit in directory.units:
            self._group(unit.id, unit.name, unit.kind)
            self._user(unit.demo_user, unit.name, "演示账号", self.settings.demo_password)
            self._member(unit.id, unit.demo_user)
            self._grant(unit.id, APPLICATION, "tasklist", ("ACCESS",))
            self._grant(unit.id, PROCESS_DEFINITION, "*", ("READ",))
            for filter_id in filter_ids + kind_filter_ids.get(unit.kind, []):
                self._grant(unit.id, FILTER, filter_id, ("READ",))
            for resource_type, resource_id, permissions in KIND_GRANTS.get(unit.kind, ()):
                self._grant(unit.id, resource_type, resource_id, permissions)
        for leader in directory.leaders:
            self._user(leader.id, leader.name, leader.body, self.settings.demo_password)
            self._member(LEADERS_GROUP, leader.id)
        self._group(WORKERS_GROUP, "宿事速办外部任务执行器", "system")
        self._user(self.settings.worker_user, "外部任务执行器", "宿事速办",
                   self.settings.worker_password)
        self._member(WORKERS_GROUP, self.settings.worker_user)
        for resource_type, permissions in WORKER_GRANTS:
            self._grant(WORKERS_GROUP, resource_type, "*", permissions)
        return self.report

    def _group(self, group_id: str, name: str, kind: str) -> None:
        try:
            current = self.client.get(f"/group/{group_id}")
        except EngineError as exc:
            if exc.status != 404:
                raise
            self.client.send(pycamunda.group.Create(self.client.rest_url, id_=group_id,
                                                    name=name, type_=kind))
            self.report.change(f"group {group_id} ({name}) created")
            return
        if (current.get("name"), current.get("type")) != (name, kind):
            self.client.rest("PUT", f"/group/{group_id}",
                             json={"id": group_id, "name": name, "type": kind})
            self.report.change(f"group {group_id} renamed to {name} ({kind})")

    def _user(self, user_id: str, first_name: str, last_name: str, password: str) -> None:
        try:
            current = self.client.get(f"/user/{user_id}/profile")
        except EngineError as exc:
            if exc.status != 404:
                raise
            self.client.send(pycamunda.user.Create(
                self.client.rest_url, id_=user_id, first_name=first_name, last_name=last_name,
                email=f"{user_id}@suban.invalid", password=password))
            self.report.change(f"user {user_id} created")
            return
        # Existing accounts keep their password: staff may have changed it.
        if (current.get("firstName"), current.get("lastName")) != (first_name, last_name):
            self.client.rest("PUT", f"/user/{user_id}/profile", json=current | {
                "firstName": first_name, "lastName": last_name})
            self.report.change(f"user {user_id} renamed to {first_name} {last_name}")

    def _member(self, group_id: str, user_id: str) -> None:
        if self.client.get("/group/count", id=group_id, member=user_id)["count"]:
            return
        self.client.send(pycamunda.group.MemberCreate(self.client.rest_url, id_=group_id,
                                                      user_id=user_id))
        self.report.change(f"user {user_id} joined group {group_id}")

    def _grant(self, group_id: str, resource_type: int, resource_id: str,
               permissions: tuple[str, ...]) -> None:
        existing = self.client.get("/authorization", type=GRANT, groupIdIn=group_id,
                                   resourceType=resource_type, resourceId=resource_id)
        if existing:
            held = set(existing[0]["permissions"])
            if "ALL" in held or held >= set(permissions):
                return
            self.client.rest("PUT", f"/authorization/{existing[0]['id']}", json=existing[0] | {
                "permissions": sorted(held | set(permissions))})
            self.report.change(f"group {group_id} granted {permissions} on "
                               f"resource {resource_type}:{resource_id}")
            return
        self.client.post("/authorization/create", {
            "type": GRANT, "permissions": list(permissions), "groupId": group_id,
            "userId": None, "resourceType": resource_type, "resourceId": resource_id})
        self.report.change(f"group {group_id} granted {permissions} on "
                           f"resource {resource_type}:{resource_id}")
