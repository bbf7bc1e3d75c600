"""The gazetteer (gazetteer.yaml): the names by which a township (街道, 镇, 乡, 经开区) is found in
an address or an appeal's text — its full and short names and its villages and communities —
and the lookup of a text's township.
"""
from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from admin_data.directory import DIRECTORY, Directory
from admin_data.loader import AdminFile, ConfigFileError, add_error, load_admin_file
from admin_data.taxonomy import UNIT_ID

FOUND, UNKNOWN, AMBIGUOUS = "found", "unknown", "ambiguous"


class GazetteerError(ConfigFileError):
    """gazetteer.yaml is not valid."""


#: A township name with one of these endings is its full name; others are short names.
FULL_NAME_ENDINGS = ("镇", "乡", "街道", "开发区", "经开区")
#: A short name right before these is a village of that name, not the township ("杨楼村").
VILLAGE_ENDINGS = ("村", "社区", "居委会", "组")

FULL_NAME, PLACE_NAME, SHORT_NAME = 1, 2, 3  # precedence when an address holds several


class TownshipEntrySchema(Schema):
    unit = fields.String(required=True, **UNIT_ID, metadata={
        "label": "乡镇 (街道) 单位编号", "help": "单位目录中的编号, 如 fengcheng"})
    names = fields.List(fields.String(validate=validate.Length(min=2, error="地名至少两个字")),
                        required=True, validate=validate.Length(min=1, error="至少写乡镇全称"),
                        metadata={"label": "名称", "help": "每行一个; 第一行为全称, 其后为简称"})
    places = fields.List(fields.String(validate=validate.Length(min=2, error="地名至少两个字")),
                         load_default=list, metadata={
                             "label": "下辖村 (社区) 与地名", "help": "每行一个; 地址中出现即判为本乡镇"})


class GazetteerSchema(Schema):
    ambiguous_names = fields.List(fields.String(), load_default=list, metadata={
        "label": "不据以判断属地的地名", "help": "每行一个; 多个乡镇都有的地名"})
    townships = fields.List(fields.Nested(TownshipEntrySchema), required=True,
                            validate=validate.Length(min=1, error="至少要有一个乡镇"),
                            metadata={"label": "乡镇 (街道)"})

    def __init__(self, directory: Directory, **kwargs):
        super().__init__(**kwargs)
        self.directory = directory

    @validates_schema
    def check_units_and_names(self, data, **_):
        errors: dict = {}
        ambiguous = set(data["ambiguous_names"])
        seen_units: dict[str, int] = {}
        owners: dict[str, tuple[int, str]] = {}  # name → (entry index, field) of its first listing
        for index, entry in enumerate(data["townships"]):
            unit = self.directory.unit(entry["unit"])
            if unit is None:
                add_error(errors, ("townships", index, "unit"),
                           f"单位目录中没有单位 '{entry['unit']}'")
            elif not unit.territorial:
                add_error(errors, ("townships", index, "unit"),
                           f"'{entry['unit']}'（{unit.name}）不是乡镇、街道或经开区")
            if entry["unit"] in seen_units:
                add_error(errors, ("townships", index, "unit"),
                           f"'{entry['unit']}' 与 townships[{seen_units[entry['unit']]}] 重复")
            seen_units.setdefault(entry["unit"], index)
            if not entry["names"][0].endswith(FULL_NAME_ENDINGS):
                add_error(errors, ("townships", index, "names"),
                           f"第一个名称应为全称（以{'、'.join(FULL_NAME_ENDINGS)}结尾）："
                           f"'{entry['names'][0]}'")
            for field in ("names", "places"):
                for name in entry[field]:
                    owner = owners.get(name)
                    if owner is None:
                        owners[name] = (index, field)
                        continue
                    if owner[0] == index:
                        add_error(errors, ("townships", index, field), f"'{name}' 重复")
                    elif field == "names" or owner[1] == "names":
                        add_error(errors, ("townships", index, field),
                                   f"'{name}' 已是 townships[{owner[0]}] 的乡镇名称，不能重名")
                    elif name not in ambiguous:
                        add_error(errors, ("townships", index, field),
                                   f"'{name}' 也写在 townships[{owner[0]}] 下；确有重名请列入 "
                                   "ambiguous_names")
        listed = {entry["unit"] for entry in data["townships"]}
        missing = [unit.id for unit in self.directory.units if unit.territorial and unit.id not in listed]
        if missing:
            add_error(errors, ("townships",), f"单位目录中的属地单位没有地名: {', '.join(missing)}")
        if errors:
            raise ValidationError(errors)


@dataclasses.dataclass(frozen=True)
class Gazetteer:
    #: every name → (precedence, the townships it may mean)
    names: typing.Mapping[str, tuple[int, frozenset[str]]]
    pattern: re.Pattern


def load_gazetteer(path: Path | None = None, directory: Directory | None = None) -> Gazetteer:
    """Read and validate a gazetteer file (every township checked against the directory)."""
    data = load_admin_file(path or GAZETTEER.path(),
                           GazetteerSchema(directory or DIRECTORY.current()), GazetteerError)
    names: dict[str, tuple[int, frozenset[str]]] = {}
    for entry in data["townships"]:
        for name in entry["names"]:
            kind = FULL_NAME if name.endswith(FULL_NAME_ENDINGS) else SHORT_NAME
            names[name] = (kind, frozenset({entry["unit"]}))
        for name in entry["places"]:
            _, units = names.get(name, (PLACE_NAME, frozenset()))
            names[name] = (PLACE_NAME, units | {entry["unit"]})
    # Longest first, so that 黄口镇 is read as one name and not as 黄口 followed by 镇.
    alternatives = sorted(names, key=len, reverse=True)
    return Gazetteer(names, re.compile("|".join(map(re.escape, alternatives))))


GAZETTEER = AdminFile("gazetteer.yaml", load_gazetteer, depends_on=(DIRECTORY,))


@dataclasses.dataclass(frozen=True)
class TownshipMatch:
    """Where an appeal is: `status` found | unknown | ambiguous."""
    status: str
    township: str | None = None
    candidates: tuple[str, ...] = ()
    matched_names: tuple[str, ...] = ()
    source: str | None = None  # "given" | "address" | "text": where the township came from
    rejected_township: str | None = None  # a given id that is not a territorial unit


def find_township(text: str | None, gazetteer: Gazetteer | None = None) -> TownshipMatch:
    """The township a text names: full names outrank village names, which outrank short names."""
    gazetteer = gazetteer or GAZETTEER.current()
    text = re.sub(r"\s+", "", text or "")
    hits: dict[int, list[tuple[str, frozenset[str]]]] = {}
    for match in gazetteer.pattern.finditer(text):
        kind, units = gazetteer.names[match.group()]
        if kind == SHORT_NAME and text.startswith(VILLAGE_ENDINGS, match.end()):
            continue
        hits.setdefault(kind, []).append((match.group(), units))
    for kind in (FULL_NAME, PLACE_NAME, SHORT_NAME):
        if kind in hits:
            decided = _decide(hits[kind])
            break
    else:
        return TownshipMatch(UNKNOWN)
    if decided.status == FOUND:  # show the dispatcher every name that points there
        agreeing = [name for kind in sorted(hits) for name, units in hits[kind]
                    if decided.township in units]
        decided = dataclasses.replace(decided, matched_names=tuple(dict.fromkeys(agreeing)))
    return decided


def _decide(hits: list[tuple[str, frozenset[str]]]) -> TownshipMatch:
    names = tuple(dict.fromkeys(name for name, _ in hits))
    certain = frozenset().union(*(units for _, units in hits if len(units) == 1))
    if len(certain) == 1:
        return TownshipMatch(FOUND, next(iter(certain)), tuple(certain), names)
    if certain:
        return TownshipMatch(AMBIGUOUS, None, tuple(sorted(certain)), names)
    # Only names that several townships share: keep what all of them agree on.
    common = frozenset.intersection(*(units for _, units in hits))
    if len(common) == 1:
        return TownshipMatch(FOUND, next(iter(common)), tuple(common), names)
    return TownshipMatch(AMBIGUOUS, None,
                         tuple(sorted(frozenset().union(*(units for _, units in hits)))), names)


def locate_appeal(township: str | None, address: str | None, title: str | None,
                  content: str | None, gazetteer: Gazetteer, directory: Directory) -> TownshipMatch:
    """The given township if it is a territorial unit, else the address, else title and content."""
    rejected = None
    if township:
        unit = directory.unit(township)
        if unit is not None and unit.territorial:
            return TownshipMatch(FOUND, township, (township,), (), "given")
        rejected = township
    found = find_township(address, gazetteer)
    source = "address"
    if found.status == UNKNOWN:
        found = find_township("，".join(text for text in (title, content) if text), gazetteer)
        source = "text"
    return dataclasses.replace(found, source=source if found.status != UNKNOWN else None,
                               rejected_township=rejected)
