"""派单建议 by 属地 + 属事: who should lead an appeal and who should help.

Topic `route-appeal`. The plan (萧政办秘〔2022〕18号 三（三）) dispatches by territory (the township,
街道 or 经开区 where the matter is) and by matter (the responsible department), with one lead unit and
co-units. Two admin files drive it: `deploy/config/taxonomy.yaml` (two-level categories; each leaf
names its department, whether the territory or the department leads, co-units, an auto-dispatch
switch and a difficulty) and `deploy/config/gazetteer.yaml` (names by which a township is found in
an address).

Reads `categoryCode`, `township` (a unit id, optional), `address`, `title`, `content` and the
`difficulty` the call taker chose at intake; sets
`proposedLeadUnit`, `proposedCoUnits`, `proposedTownship`, `routingBasis` ("territory" | "matter"),
`routingStatus` ("ok" | "unknown_category" | "unknown_location" | "ambiguous_location"),
`routingNote` (Chinese, shown in the manual dispatch task), `categoryName`, `difficulty` (complex
when the leaf or the call taker says so), `autoDispatch`, and — only when `autoDispatch` — `leadUnit` and `coUnits`.

The plain functions (`load_taxonomy`, `load_gazetteer`, `find_township`, `propose_route`) serve the
web console and the admins' preview as well.
"""
from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from deploy.directory import DIRECTORY_FILE, ID_PATTERN, Directory, DirectoryError, load_directory
from deploy.settings import CONFIG_DIR
from external_tasks.runtime import IncidentError, TaskRouter
from deploy.admin_files import ConfigFileError, file_version, load_admin_file

TAXONOMY_FILE = CONFIG_DIR / "taxonomy.yaml"
GAZETTEER_FILE = CONFIG_DIR / "gazetteer.yaml"

TERRITORY, MATTER = "territory", "matter"
ORDINARY, COMPLEX = "ordinary", "complex"
OK = "ok"
UNKNOWN_CATEGORY = "unknown_category"
UNKNOWN_LOCATION = "unknown_location"
AMBIGUOUS_LOCATION = "ambiguous_location"

FOUND, UNKNOWN, AMBIGUOUS = "found", "unknown", "ambiguous"

router = TaskRouter()


class TaxonomyError(ConfigFileError):
    """deploy/config/taxonomy.yaml is not valid."""


class GazetteerError(ConfigFileError):
    """deploy/config/gazetteer.yaml is not valid."""


_unit_id = dict(validate=validate.Regexp(ID_PATTERN, error="只能使用英文字母和数字 (letters and digits only)"))


def _add_error(errors: dict, path: tuple, message: str) -> None:
    """Put `message` at a nested path (list indexes included), as marshmallow reports errors."""
    node = errors
    for step in path[:-1]:
        node = node.setdefault(step, {})
    node.setdefault(path[-1], []).append(message)


# -- taxonomy ----------------------------------------------------------------------------------

class LeafSchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9]+(\.[A-Za-z0-9]+)+$", error="只能使用英文字母、数字和点，形如 construction.propertyService"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=40))
    department = fields.String(required=True, **_unit_id)
    lead = fields.String(required=True, validate=validate.OneOf(
        [TERRITORY, MATTER], error="应为 territory（属地牵头）或 matter（属事牵头）"))
    co_units = fields.List(fields.String(**_unit_id), load_default=list)
    auto_dispatch = fields.Boolean(load_default=False)
    difficulty = fields.String(load_default=ORDINARY, validate=validate.OneOf(
        [ORDINARY, COMPLEX], error="应为 ordinary（一般）或 complex（复杂）"))
    note = fields.String(load_default=None, validate=validate.Length(min=1, max=200))


class CategorySchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9]+$", error="只能使用英文字母和数字"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=20))
    reference_categories = fields.List(fields.String(), load_default=list)
    leaves = fields.List(fields.Nested(LeafSchema), required=True,
                         validate=validate.Length(min=1, error="至少要有一个二级分类"))


class TaxonomySchema(Schema):
    categories = fields.List(fields.Nested(CategorySchema), required=True,
                             validate=validate.Length(min=1))

    def __init__(self, directory: Directory, **kwargs):
        super().__init__(**kwargs)
        self.directory = directory

    @validates_schema
    def check_codes_and_units(self, data, **_):
        errors: dict = {}
        seen: dict[str, str] = {}
        for ci, category in enumerate(data["categories"]):
            where = f"categories[{ci}]"
            if category["code"] in seen:
                _add_error(errors, ("categories", ci, "code"),
                           f"'{category['code']}' 与 {seen[category['code']]} 重复")
            seen.setdefault(category["code"], where)
            for li, leaf in enumerate(category["leaves"]):
                path = ("categories", ci, "leaves", li)
                if not leaf["code"].startswith(category["code"] + "."):
                    _add_error(errors, path + ("code",),
                               f"应以一级分类编码 '{category['code']}.' 开头")
                if leaf["code"] in seen:
                    _add_error(errors, path + ("code",),
                               f"'{leaf['code']}' 与 {seen[leaf['code']]} 重复")
                seen.setdefault(leaf["code"], f"{where}.leaves[{li}]")
                self._check_unit(errors, path + ("department",), leaf["department"])
                for unit_id in leaf["co_units"]:
                    if unit_id == leaf["department"] or leaf["co_units"].count(unit_id) > 1:
                        _add_error(errors, path + ("co_units",), f"'{unit_id}' 重复")
                    else:
                        self._check_unit(errors, path + ("co_units",), unit_id)
        if errors:
            raise ValidationError(errors)

    def _check_unit(self, errors: dict, path: tuple, unit_id: str) -> None:
        unit = self.directory.unit(unit_id)
        if unit is None:
            _add_error(errors, path, f"单位目录中没有单位 '{unit_id}'")
        elif unit.territorial:
            _add_error(errors, path, f"'{unit_id}'（{unit.name}）是乡镇（街道），属地由地址自动判断，"
                                     "这里只写部门或单位")


@dataclasses.dataclass(frozen=True)
class Leaf:
    code: str
    name: str
    category_code: str
    category_name: str
    department: str
    lead: str
    co_units: tuple[str, ...]
    auto_dispatch: bool
    difficulty: str
    note: str | None

    @property
    def full_name(self) -> str:
        return f"{self.category_name} / {self.name}"


@dataclasses.dataclass(frozen=True)
class Category:
    code: str
    name: str
    reference_categories: tuple[str, ...]
    leaves: tuple[Leaf, ...]


@dataclasses.dataclass(frozen=True)
class Taxonomy:
    categories: tuple[Category, ...]

    @property
    def leaves(self) -> tuple[Leaf, ...]:
        return tuple(leaf for category in self.categories for leaf in category.leaves)

    def leaf(self, code: str | None) -> Leaf | None:
        return next((leaf for leaf in self.leaves if leaf.code == code), None)


def load_taxonomy(path: Path = TAXONOMY_FILE, directory: Directory | None = None) -> Taxonomy:
    """Read and validate a taxonomy file (every unit checked against the directory)."""
    data = load_admin_file(path, TaxonomySchema(directory or load_directory()), TaxonomyError)
    return Taxonomy(tuple(
        Category(code=c["code"], name=c["name"],
                 reference_categories=tuple(c["reference_categories"]),
                 leaves=tuple(Leaf(
                     code=leaf["code"], name=leaf["name"], category_code=c["code"],
                     category_name=c["name"], department=leaf["department"], lead=leaf["lead"],
                     co_units=tuple(leaf["co_units"]), auto_dispatch=leaf["auto_dispatch"],
                     difficulty=leaf["difficulty"], note=leaf["note"]) for leaf in c["leaves"]))
        for c in data["categories"]))


# -- gazetteer ---------------------------------------------------------------------------------

#: A township name with one of these endings is its full name; others are short names.
FULL_NAME_ENDINGS = ("镇", "乡", "街道", "开发区", "经开区")
#: A short name right before these is a village of that name, not the township ("杨楼村").
VILLAGE_ENDINGS = ("村", "社区", "居委会", "组")

FULL_NAME, PLACE_NAME, SHORT_NAME = 1, 2, 3  # precedence when an address holds several


class TownshipEntrySchema(Schema):
    unit = fields.String(required=True, **_unit_id)
    names = fields.List(fields.String(validate=validate.Length(min=2, error="地名至少两个字")),
                        required=True, validate=validate.Length(min=1, error="至少写乡镇全称"))
    places = fields.List(fields.String(validate=validate.Length(min=2, error="地名至少两个字")),
                         load_default=list)


class GazetteerSchema(Schema):
    ambiguous_names = fields.List(fields.String(), load_default=list)
    townships = fields.List(fields.Nested(TownshipEntrySchema), required=True,
                            validate=validate.Length(min=1))

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
                _add_error(errors, ("townships", index, "unit"),
                           f"单位目录中没有单位 '{entry['unit']}'")
            elif not unit.territorial:
                _add_error(errors, ("townships", index, "unit"),
                           f"'{entry['unit']}'（{unit.name}）不是乡镇、街道或经开区")
            if entry["unit"] in seen_units:
                _add_error(errors, ("townships", index, "unit"),
                           f"'{entry['unit']}' 与 townships[{seen_units[entry['unit']]}] 重复")
            seen_units.setdefault(entry["unit"], index)
            if not entry["names"][0].endswith(FULL_NAME_ENDINGS):
                _add_error(errors, ("townships", index, "names"),
                           f"第一个名称应为全称（以{'、'.join(FULL_NAME_ENDINGS)}结尾）："
                           f"'{entry['names'][0]}'")
            for field in ("names", "places"):
                for name in entry[field]:
                    owner = owners.get(name)
                    if owner is None:
                        owners[name] = (index, field)
                        continue
                    if owner[0] == index:
                        _add_error(errors, ("townships", index, field), f"'{name}' 重复")
                    elif field == "names" or owner[1] == "names":
                        _add_error(errors, ("townships", index, field),
                                   f"'{name}' 已是 townships[{owner[0]}] 的乡镇名称，不能重名")
                    elif name not in ambiguous:
                        _add_error(errors, ("townships", index, field),
                                   f"'{name}' 也写在 townships[{owner[0]}] 下；确有重名请列入 "
                                   "ambiguous_names")
        listed = {entry["unit"] for entry in data["townships"]}
        missing = [unit.id for unit in self.directory.units if unit.territorial and unit.id not in listed]
        if missing:
            _add_error(errors, ("townships",), f"单位目录中的属地单位没有地名: {', '.join(missing)}")
        if errors:
            raise ValidationError(errors)


@dataclasses.dataclass(frozen=True)
class Gazetteer:
    #: every name → (precedence, the townships it may mean)
    names: typing.Mapping[str, tuple[int, frozenset[str]]]
    pattern: re.Pattern


def load_gazetteer(path: Path = GAZETTEER_FILE, directory: Directory | None = None) -> Gazetteer:
    """Read and validate a gazetteer file (every township checked against the directory)."""
    data = load_admin_file(path, GazetteerSchema(directory or load_directory()), GazetteerError)
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
    gazetteer = gazetteer or current_gazetteer()
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


# -- the proposal ------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class RouteProposal:
    status: str
    basis: str | None
    lead_unit: str | None
    co_units: tuple[str, ...]
    township: str | None
    category_name: str | None
    difficulty: str
    auto_dispatch: bool
    note: str
    location: TownshipMatch

    def to_variables(self) -> dict:
        variables = {
            "proposedLeadUnit": self.lead_unit,
            "proposedCoUnits": list(self.co_units),
            "proposedTownship": self.township,
            "routingBasis": self.basis,
            "routingStatus": self.status,
            "routingNote": self.note,
            "categoryName": self.category_name,
            "difficulty": self.difficulty,
            "autoDispatch": self.auto_dispatch,
        }
        if self.auto_dispatch:
            variables |= {"leadUnit": self.lead_unit, "coUnits": list(self.co_units)}
        return variables


def propose_route(category_code: str | None, township: str | None = None,
                  address: str | None = None, title: str | None = None,
                  content: str | None = None, *, intake_difficulty: str | None = None,
                  taxonomy: Taxonomy | None = None,
                  gazetteer: Gazetteer | None = None,
                  directory: Directory | None = None) -> RouteProposal:
    """Lead unit and co-units for an appeal; the current admin files unless others are given.

    `intake_difficulty` is what the call taker chose: a complex appeal stays complex even in an
    ordinary category, since the caller's case may be harder than its category.
    """
    directory = directory or current_directory()
    taxonomy = taxonomy or current_taxonomy()
    gazetteer = gazetteer or current_gazetteer()
    location = locate_appeal(township, address, title, content, gazetteer, directory)
    found = location.township if location.status == FOUND else None
    leaf = taxonomy.leaf(category_code)
    describe = _Describer(directory)

    if leaf is None:
        what = (f"诉求分类编码“{category_code}”不在分类目录中" if category_code
                else "尚未选择诉求分类")
        difficulty = intake_difficulty if intake_difficulty in (ORDINARY, COMPLEX) else ORDINARY
        return RouteProposal(UNKNOWN_CATEGORY, None, None, (), found, None, difficulty, False,
                             f"{what}，请人工选择分类并派单。{describe.location(location)}。",
                             location)

    if leaf.lead == TERRITORY:
        co_units = _unique((leaf.department,) + leaf.co_units)
        lead = found
        status = {FOUND: OK, UNKNOWN: UNKNOWN_LOCATION, AMBIGUOUS: AMBIGUOUS_LOCATION}[location.status]
        if lead:
            route = (f"“{leaf.full_name}”按属地原则由乡镇（街道）牵头：{describe.location(location)}，"
                     f"建议{describe.unit(lead)}牵头，{describe.units(co_units)}配合。")
        else:
            route = (f"“{leaf.full_name}”按属地原则由乡镇（街道）牵头，但{describe.location(location)}，"
                     f"请人工确定牵头乡镇（街道）；建议{describe.units(co_units)}配合。")
    else:
        co_units = _unique(leaf.co_units + ((found,) if found else ()))
        lead = leaf.department
        status = OK  # the department leads wherever the matter is
        route = f"“{leaf.full_name}”按属事原则由{describe.unit(lead)}牵头；{describe.location(location)}，"
        route += (f"{describe.unit(found)}属地配合" if found
                  else "暂无属地配合单位，可在派单时补充")
        others = [unit for unit in co_units if unit != found]
        route += f"；{describe.units(others)}配合。" if others else "。"

    # A township id the directory does not know means the intake went wrong: a person looks.
    auto = leaf.auto_dispatch and status == OK and not location.rejected_township
    if auto:
        dispatch = "该分类已开启自动派单，按此建议派单。"
    elif not leaf.auto_dispatch:
        dispatch = "该分类未开启自动派单，请核对后派单。"
    elif location.rejected_township:
        dispatch = "登记的属地有误，转人工派单。"
    else:
        dispatch = "属地未确定，转人工派单。"
    note = route + dispatch + (leaf.note + "。" if leaf.note else "")
    difficulty = COMPLEX if COMPLEX in (leaf.difficulty, intake_difficulty) else ORDINARY
    return RouteProposal(status, leaf.lead, lead, co_units, found, leaf.full_name,
                         difficulty, auto, note, location)


def _unique(unit_ids: typing.Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(unit_ids))


class _Describer:
    """The Chinese phrases of a routing note, with unit names from the directory."""

    def __init__(self, directory: Directory):
        self.directory = directory

    def unit(self, unit_id: str) -> str:
        unit = self.directory.unit(unit_id)
        return unit.name if unit else unit_id

    def units(self, unit_ids: typing.Iterable[str]) -> str:
        return "、".join(self.unit(unit_id) for unit_id in unit_ids)

    def location(self, match: TownshipMatch) -> str:
        prefix = (f"登记的属地“{match.rejected_township}”不是单位目录中的乡镇（街道），已改按地址判断，"
                  if match.rejected_township else "")
        where = {"address": "地址", "text": "诉求内容"}.get(match.source, "")
        names = "、".join(f"“{name}”" for name in match.matched_names)
        if match.status == FOUND and match.source == "given":
            return prefix + f"登记的属地为{self.unit(match.township)}"
        if match.status == FOUND:
            return prefix + f"{where}中识别到{names}，属{self.unit(match.township)}"
        if match.status == AMBIGUOUS:
            return prefix + f"{where}中出现多个乡镇（街道）：{self.units(match.candidates)}（{names}）"
        return prefix + "未能从地址和诉求内容中识别乡镇（街道）"


# -- the current files, re-read after an admin saves them --------------------------------------

_current: dict[str, tuple[tuple, typing.Any]] = {}


def _cached(name: str, paths: tuple[Path, ...], load: typing.Callable[[], typing.Any]):
    versions = tuple(file_version(path) for path in paths)
    held = _current.get(name)
    if held and held[0] == versions:
        return held[1]
    value = load()
    _current[name] = (versions, value)
    return value


def current_directory() -> Directory:
    return _cached("directory", (DIRECTORY_FILE,), load_directory)


def current_taxonomy() -> Taxonomy:
    return _cached("taxonomy", (TAXONOMY_FILE, DIRECTORY_FILE),
                   lambda: load_taxonomy(TAXONOMY_FILE, current_directory()))


def current_gazetteer() -> Gazetteer:
    return _cached("gazetteer", (GAZETTEER_FILE, DIRECTORY_FILE),
                   lambda: load_gazetteer(GAZETTEER_FILE, current_directory()))


@router.task("route-appeal")
def route_appeal(categoryCode: str | None = None, township: str | None = None,
                 address: str | None = None, title: str | None = None,
                 content: str | None = None, difficulty: str | None = None) -> dict:
    try:
        proposal = propose_route(categoryCode, township, address, title, content,
                                 intake_difficulty=difficulty)
    except (ConfigFileError, DirectoryError) as exc:
        # A broken admin file is the admins' to fix; retrying cannot help.
        raise IncidentError(f"派单配置文件有误，请管理员修正后在 Cockpit 重试: {exc}") from None
    return proposal.to_variables()
