"""The directory of units: a data file admins edit, validated, and synced into the engine.

Each unit is a Camunda group; its users see and work only the tasks whose candidate group is
the unit (the engine grants a candidate group READ and TASK_WORK on the task). The sync also
gives every unit Tasklist access and the shared task filters, and creates the workers'
technical account with just the rights external tasks need.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pycamunda.group
import pycamunda.user
import yaml
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from deploy.settings import CONFIG_DIR, Settings
from deploy.tasklist_filters import sync_task_filters
from external_tasks.camunda import EngineClient, EngineError

DIRECTORY_FILE = CONFIG_DIR / "directory.yaml"

ID_PATTERN = r"^[a-zA-Z0-9]+$"
UNIT_KINDS = {
    "hotline_centre": "热线中心", "supervision_office": "督查考核", "media_centre": "融媒体",
    "leadership": "县领导", "subdistrict": "街道", "town": "镇", "township": "乡",
    "development_zone": "经开区", "department": "部门", "utility": "公共企业", "office": "办公室",
}
TERRITORIAL_KINDS = frozenset({"subdistrict", "town", "township", "development_zone"})
LEADERS_GROUP = "countyleaders"
WORKERS_GROUP = "subanworkers"

log = logging.getLogger("suban.directory")

_id_field = dict(required=True, validate=validate.Regexp(
    ID_PATTERN, error="只能使用英文字母和数字 (letters and digits only)"))


class UnitSchema(Schema):
    id = fields.String(**_id_field)
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    kind = fields.String(required=True, validate=validate.OneOf(
        sorted(UNIT_KINDS), error="未知的单位类型，应为 {choices} 之一"))
    demo_user = fields.String(**_id_field)


class LeaderSchema(Schema):
    id = fields.String(**_id_field)
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    body = fields.String(required=True, validate=validate.OneOf(
        ["县委", "县人大常委会", "县政府", "县政协"], error="应为县四套班子之一: {choices}"))
    in_charge_of = fields.List(fields.String(), load_default=list)


class DirectorySchema(Schema):
    units = fields.List(fields.Nested(UnitSchema), required=True,
                        validate=validate.Length(min=1))
    leaders = fields.List(fields.Nested(LeaderSchema), load_default=list)

    @validates_schema
    def check_references(self, data, **_):
        errors: dict[str, dict] = {}
        seen: dict[str, str] = {}
        for index, unit in enumerate(data["units"]):
            for key in ("id", "demo_user"):
                owner = seen.get(unit[key])
                if owner:
                    errors.setdefault("units", {}).setdefault(index, {})[key] = [
                        f"'{unit[key]}' 与 {owner} 重复"]
                seen[unit[key]] = f"units[{index}].{key}"
        unit_ids = {unit["id"] for unit in data["units"]}
        if LEADERS_GROUP not in unit_ids:
            errors["units"] = errors.get("units", {}) | {"_": [f"缺少县领导组 '{LEADERS_GROUP}'"]}
        for index, leader in enumerate(data["leaders"]):
            owner = seen.get(leader["id"])
            if owner:
                errors.setdefault("leaders", {}).setdefault(index, {})["id"] = [
                    f"'{leader['id']}' 与 {owner} 重复"]
            seen[leader["id"]] = f"leaders[{index}].id"
            unknown = [unit for unit in leader["in_charge_of"] if unit not in unit_ids]
            if unknown:
                errors.setdefault("leaders", {}).setdefault(index, {})["in_charge_of"] = [
                    f"目录中没有单位: {', '.join(unknown)}"]
        if errors:
            raise ValidationError(errors)


@dataclasses.dataclass(frozen=True)
class Unit:
    id: str
    name: str
    kind: str
    demo_user: str

    @property
    def territorial(self) -> bool:
        return self.kind in TERRITORIAL_KINDS


@dataclasses.dataclass(frozen=True)
class Leader:
    id: str
    name: str
    body: str
    in_charge_of: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Directory:
    units: tuple[Unit, ...]
    leaders: tuple[Leader, ...]

    def unit(self, unit_id: str) -> Unit | None:
        return next((unit for unit in self.units if unit.id == unit_id), None)


class DirectoryError(ValueError):
    """The directory file is not valid; the message names each bad row and field."""


def _flatten(errors, prefix="") -> list[str]:
    if isinstance(errors, dict):
        lines = []
        for key, value in errors.items():
            step = f"[{key}]" if isinstance(key, int) else ("" if key == "_" else f".{key}")
            lines += _flatten(value, f"{prefix}{step}")
        return lines
    return [f"{prefix.lstrip('.')}: {message}" for message in errors]


def load_directory(path: Path = DIRECTORY_FILE) -> Directory:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DirectoryError(f"{path}: not valid YAML: {exc}") from None
    try:
        data = DirectorySchema().load(raw or {})
    except ValidationError as exc:
        raise DirectoryError(f"{path}:\n  " + "\n  ".join(_flatten(exc.messages))) from None
    return Directory(
        units=tuple(Unit(**unit) for unit in data["units"]),
        leaders=tuple(Leader(**leader | {"in_charge_of": tuple(leader["in_charge_of"])})
                      for leader in data["leaders"]),
    )


# -- sync into the engine ------------------------------------------------------------------------

# Camunda resource types and the permissions we grant (see the engine's Resources/Permissions).
APPLICATION, FILTER, PROCESS_DEFINITION, PROCESS_INSTANCE, DECISION_DEFINITION = 0, 5, 6, 8, 10
GRANT = 1

#: Hotline agents register appeals with the start form in Tasklist (登记诉求).
KIND_GRANTS = {
    "hotline_centre": ((PROCESS_DEFINITION, "hotline_appeal", ("READ", "CREATE_INSTANCE")),
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
        for unit in directory.units:
            self._group(unit.id, unit.name, unit.kind)
            self._user(unit.demo_user, unit.name, "演示账号", self.settings.demo_password)
            self._member(unit.id, unit.demo_user)
            self._grant(unit.id, APPLICATION, "tasklist", ("ACCESS",))
            self._grant(unit.id, PROCESS_DEFINITION, "*", ("READ",))
            for filter_id in filter_ids:
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
