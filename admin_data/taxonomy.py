"""The taxonomy and dispatch table (taxonomy.yaml): two-level categories; each leaf names its
department, whether the territory (属地) or the department (属事) leads, co-units, an
auto-dispatch switch and a difficulty, and optionally the words and sample appeals the category
suggester learns the leaf from. Every unit is checked against the directory."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from admin_data.directory import DIRECTORY, ID_PATTERN, Directory
from admin_data.loader import AdminFile, ConfigFileError, add_error, load_admin_file

TERRITORY, MATTER = "territory", "matter"
ORDINARY, COMPLEX = "ordinary", "complex"

UNIT_ID = dict(validate=validate.Regexp(ID_PATTERN, error="只能使用英文字母和数字 (letters and digits only)"))


class TaxonomyError(ConfigFileError):
    """taxonomy.yaml is not valid."""


class LeafSchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9]+(\.[A-Za-z0-9]+)+$", error="只能使用英文字母、数字和点，形如 construction.propertyService"),
        metadata={"label": "分类编码", "help": "一级编码.二级编码; 定下后不要改 (统计按编码归类)"})
    name = fields.String(required=True, validate=validate.Length(min=1, max=40),
                         metadata={"label": "名称"})
    department = fields.String(required=True, **UNIT_ID, metadata={"label": "主管部门"})
    lead = fields.String(required=True, validate=validate.OneOf(
        [TERRITORY, MATTER], error="应为 territory（属地牵头）或 matter（属事牵头）"),
        metadata={"label": "牵头", "choices": {TERRITORY: "属地牵头 (乡镇、街道)",
                                             MATTER: "属事牵头 (主管部门)"}})
    co_units = fields.List(fields.String(**UNIT_ID), load_default=list,
                           metadata={"label": "配合单位"})
    auto_dispatch = fields.Boolean(load_default=False, metadata={"label": "自动派单"})
    difficulty = fields.String(load_default=ORDINARY, validate=validate.OneOf(
        [ORDINARY, COMPLEX], error="应为 ordinary（一般）或 complex（复杂）"),
        metadata={"label": "难易程度", "choices": {ORDINARY: "一般", COMPLEX: "复杂"}})
    note = fields.String(load_default=None, validate=validate.Length(min=1, max=200),
                         metadata={"label": "派单提示", "multiline": True})
    keywords = fields.List(fields.String(validate=validate.Length(min=1, max=20, error="每个词 1 到 20 个字")),
                           load_default=list, metadata={"label": "关键词 (每行一个)"})
    examples = fields.List(fields.String(validate=validate.Length(min=2, max=300, error="每句 2 到 300 个字")),
                           load_default=list, metadata={"label": "典型诉求原话 (每行一句)"})
    #: A matter someone has to go and see: without a township it is never auto-dispatched.
    needs_place = fields.Boolean(load_default=True, metadata={
        "label": "须有具体地点", "help": "是: 找不到乡镇时不自动派单"})


class CategorySchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9]+$", error="只能使用英文字母和数字"), metadata={"label": "一级分类编码"})
    name = fields.String(required=True, validate=validate.Length(min=1, max=20),
                         metadata={"label": "一级分类名称"})
    reference_categories = fields.List(fields.String(), load_default=list,
                                       metadata={"label": "对应的参考分类 (每行一个)"})
    leaves = fields.List(fields.Nested(LeafSchema), required=True,
                         validate=validate.Length(min=1, error="至少要有一个二级分类"),
                         metadata={"label": "二级分类"})


class TaxonomySchema(Schema):
    categories = fields.List(fields.Nested(CategorySchema), required=True,
                             validate=validate.Length(min=1), metadata={"label": "一级分类"})

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
                add_error(errors, ("categories", ci, "code"),
                           f"'{category['code']}' 与 {seen[category['code']]} 重复")
            seen.setdefault(category["code"], where)
            for li, leaf in enumerate(category["leaves"]):
                path = ("categories", ci, "leaves", li)
                if not leaf["code"].startswith(category["code"] + "."):
                    add_error(errors, path + ("code",),
                               f"应以一级分类编码 '{category['code']}.' 开头")
                if leaf["code"] in seen:
                    add_error(errors, path + ("code",),
                               f"'{leaf['code']}' 与 {seen[leaf['code']]} 重复")
                seen.setdefault(leaf["code"], f"{where}.leaves[{li}]")
                self._check_unit(errors, path + ("department",), leaf["department"])
                for unit_id in leaf["co_units"]:
                    if unit_id == leaf["department"] or leaf["co_units"].count(unit_id) > 1:
                        add_error(errors, path + ("co_units",), f"'{unit_id}' 重复")
                    else:
                        self._check_unit(errors, path + ("co_units",), unit_id)
        if errors:
            raise ValidationError(errors)

    def _check_unit(self, errors: dict, path: tuple, unit_id: str) -> None:
        unit = self.directory.unit(unit_id)
        if unit is None:
            add_error(errors, path, f"单位目录中没有单位 '{unit_id}'")
        elif unit.territorial:
            add_error(errors, path, f"'{unit_id}'（{unit.name}）是乡镇（街道），属地由地址自动判断，"
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
    keywords: tuple[str, ...]
    examples: tuple[str, ...]
    needs_place: bool

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


def load_taxonomy(path: Path | None = None, directory: Directory | None = None) -> Taxonomy:
    """Read and validate a taxonomy file (every unit checked against the directory)."""
    data = load_admin_file(path or TAXONOMY.path(), TaxonomySchema(directory or DIRECTORY.current()),
                           TaxonomyError)
    return Taxonomy(tuple(
        Category(code=c["code"], name=c["name"],
                 reference_categories=tuple(c["reference_categories"]),
                 leaves=tuple(Leaf(
                     code=leaf["code"], name=leaf["name"], category_code=c["code"],
                     category_name=c["name"], department=leaf["department"], lead=leaf["lead"],
                     co_units=tuple(leaf["co_units"]), auto_dispatch=leaf["auto_dispatch"],
                     difficulty=leaf["difficulty"], note=leaf["note"],
                     keywords=tuple(leaf["keywords"]), examples=tuple(leaf["examples"]),
                     needs_place=leaf["needs_place"]) for leaf in c["leaves"]))
        for c in data["categories"]))


TAXONOMY = AdminFile("taxonomy.yaml", load_taxonomy, depends_on=(DIRECTORY,))
