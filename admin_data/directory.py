"""The directory of units (directory.yaml): the county's units, their kinds and demo accounts,
and the county leaders with the units they are in charge of.

`deploy.directory_sync` makes each unit a Camunda group in the engine.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from admin_data.loader import AdminFile, ConfigFileError, load_admin_file

ID_PATTERN = r"^[a-zA-Z0-9]+$"
UNIT_KINDS = {
    "hotline_centre": "热线中心", "supervision_office": "督查考核", "media_centre": "融媒体",
    "leadership": "县领导", "subdistrict": "街道", "town": "镇", "township": "乡",
    "development_zone": "经开区", "department": "部门", "utility": "公共企业", "office": "办公室",
}
TERRITORIAL_KINDS = frozenset({"subdistrict", "town", "township", "development_zone"})
LEADERS_GROUP = "countyleaders"

_id_field = dict(required=True, validate=validate.Regexp(
    ID_PATTERN, error="只能使用英文字母和数字 (letters and digits only)"))


class UnitSchema(Schema):
    id = fields.String(**_id_field, metadata={"label": "单位编号"})
    name = fields.String(required=True, validate=validate.Length(min=1, max=64),
                         metadata={"label": "单位名称"})
    kind = fields.String(required=True, validate=validate.OneOf(
        sorted(UNIT_KINDS), error="未知的单位类型，应为 {choices} 之一"),
        metadata={"label": "类型", "choices": UNIT_KINDS})
    demo_user = fields.String(**_id_field, metadata={"label": "演示账号"})


class LeaderSchema(Schema):
    id = fields.String(**_id_field, metadata={"label": "账号编号"})
    name = fields.String(required=True, validate=validate.Length(min=1, max=64),
                         metadata={"label": "职务"})
    body = fields.String(required=True, validate=validate.OneOf(
        ["县委", "县人大常委会", "县政府", "县政协"], error="应为县四套班子之一: {choices}"),
        metadata={"label": "班子"})
    in_charge_of = fields.List(fields.String(), load_default=list,
                               metadata={"label": "分管单位"})


class DirectorySchema(Schema):
    units = fields.List(fields.Nested(UnitSchema), required=True,
                        validate=validate.Length(min=1), metadata={"label": "单位"})
    leaders = fields.List(fields.Nested(LeaderSchema), load_default=list,
                          metadata={"label": "县领导"})

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
            errors["units"] = errors.get("units", {}) | {"_schema": [f"缺少县领导组 '{LEADERS_GROUP}'"]}
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


class DirectoryError(ConfigFileError):
    """directory.yaml is not valid; the message names each bad row and field."""


def load_directory(path: Path | None = None) -> Directory:
    data = load_admin_file(path or DIRECTORY.path(), DirectorySchema(), DirectoryError)
    return Directory(
        units=tuple(Unit(**unit) for unit in data["units"]),
        leaders=tuple(Leader(**leader | {"in_charge_of": tuple(leader["in_charge_of"])})
                      for leader in data["leaders"]),
    )


DIRECTORY = AdminFile("directory.yaml", load_directory)
