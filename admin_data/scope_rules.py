"""The scope rules (scope_rules.yaml): emergencies to transfer and the matters the plan excludes
(萧政办秘〔2022〕18号 三（二）), as patterns the hotline admins edit, with the reason and the
referral told to the caller."""
from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from admin_data.loader import AdminFile, ConfigFileError, load_admin_file

EMERGENCY, EXCLUDED = "emergency", "excluded"


def _valid_regex(text: str) -> None:
    try:
        re.compile(text)
    except re.error as exc:
        raise ValidationError(f"不是有效的正则表达式 (invalid regular expression): {exc}") from None


_pattern_list = dict(cls_or_instance=fields.String(validate=[
    validate.Length(min=1, error="不能为空"), _valid_regex]))


class MatterSchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(
        r"^[a-z][a-z0-9]*$", error="只能使用小写英文字母和数字，以字母开头 (lower-case letters and digits)"),
        metadata={"label": "编码", "help": "写入流程变量 scopeMatters, 定下后不要改"})
    name = fields.String(required=True, validate=validate.Length(
        min=1, max=32, error="应为 1 到 32 个字"), metadata={"label": "名称"})
    kind = fields.String(required=True, validate=validate.OneOf(
        [EMERGENCY, EXCLUDED], error="应为 emergency（紧急转接）或 excluded（不予受理）"),
        metadata={"label": "类别", "choices": {EMERGENCY: "紧急事项 (立即转接)",
                                               EXCLUDED: "不予受理事项"}})
    transfer_to = fields.String(load_default=None, validate=validate.Regexp(
        r"^\d{3,5}$", error="应为转接号码，如 110"), metadata={"label": "转接号码 (仅紧急事项)"})
    answerable_inquiry = fields.Boolean(load_default=False, metadata={
        "label": "程序性咨询不标记", "help": "是: 只问怎么申请、去哪里办的句子不标记, 热线当场告知去向"})
    patterns = fields.List(**_pattern_list, required=True, validate=validate.Length(
        min=1, error="至少要有一条命中条件"), metadata={
        "label": "命中短语", "help": "每行一条 (正则表达式); 同一句中出现任一条即命中"})
    negative_patterns = fields.List(**_pattern_list, load_default=list, metadata={
        "label": "排除短语", "help": "每行一条; 与命中短语出现在同一句时, 该句不算命中"})
    reason = fields.String(required=True, validate=validate.Length(min=1, error="不能为空"),
                           metadata={"label": "告知来电人的原因", "multiline": True})
    referral = fields.String(required=True, validate=validate.Length(min=1, error="不能为空"),
                             metadata={"label": "建议的办理途径", "multiline": True})

    @validates_schema
    def check_kind_fields(self, data, **_):
        if data["kind"] == EMERGENCY and not data["transfer_to"]:
            raise ValidationError("紧急事项必须写明转接号码", "transfer_to")
        if data["kind"] == EXCLUDED and data["transfer_to"]:
            raise ValidationError("只有紧急事项（kind: emergency）才有转接号码", "transfer_to")
        if data["kind"] == EMERGENCY and data["answerable_inquiry"]:
            raise ValidationError("紧急事项不能按程序性咨询放过", "answerable_inquiry")


class ScopeRulesSchema(Schema):
    inquiry_patterns = fields.List(**_pattern_list, required=True, metadata={
        "label": "程序性咨询的问法", "help": "每行一条, 如 如何、去哪里办"})
    asking_patterns = fields.List(**_pattern_list, required=True, metadata={
        "label": "问询词", "help": "每行一条, 如 咨询、请问"})
    in_procedure_patterns = fields.List(**_pattern_list, required=True, metadata={
        "label": "已在程序中的说法", "help": "每行一条; 句中出现时即使是问句也标记"})
    not_current_patterns = fields.List(**_pattern_list, required=True, metadata={
        "label": "非正在发生的说法", "help": "每行一条; 句中出现时不作紧急转接 (过去的事或隐患)"})
    matters = fields.List(fields.Nested(MatterSchema), required=True, validate=validate.Length(
        min=1, error="至少要有一项"), metadata={"label": "紧急事项与不予受理事项"})

    @validates_schema
    def check_unique_codes(self, data, **_):
        seen: dict[str, int] = {}
        errors: dict[int, dict] = {}
        for index, matter in enumerate(data["matters"]):
            if matter["code"] in seen:
                errors[index] = {"code": [f"'{matter['code']}' 与 matters[{seen[matter['code']]}] 重复"]}
            seen.setdefault(matter["code"], index)
        if errors:
            raise ValidationError({"matters": errors})


class ScopeRulesError(ConfigFileError):
    """scope_rules.yaml is not valid."""


def _any_of(patterns: typing.Iterable[str]) -> re.Pattern | None:
    patterns = list(patterns)
    return re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None


@dataclasses.dataclass(frozen=True)
class ScopeMatter:
    code: str
    name: str
    kind: str
    transfer_to: str | None
    answerable_inquiry: bool
    patterns: tuple[re.Pattern, ...]
    negative: re.Pattern | None
    reason: str
    referral: str


@dataclasses.dataclass(frozen=True)
class ScopeRules:
    matters: tuple[ScopeMatter, ...]
    inquiry: re.Pattern | None
    asking: re.Pattern | None
    in_procedure: re.Pattern | None
    not_current: re.Pattern | None

    def matter(self, code: str) -> ScopeMatter | None:
        return next((matter for matter in self.matters if matter.code == code), None)


def load_scope_rules(path: Path | None = None) -> ScopeRules:
    data = load_admin_file(path or SCOPE_RULES.path(), ScopeRulesSchema(), ScopeRulesError)
    return ScopeRules(
        matters=tuple(ScopeMatter(
            code=m["code"], name=m["name"], kind=m["kind"], transfer_to=m["transfer_to"],
            answerable_inquiry=m["answerable_inquiry"],
            patterns=tuple(re.compile(p) for p in m["patterns"]),
            negative=_any_of(m["negative_patterns"]), reason=m["reason"], referral=m["referral"])
            for m in data["matters"]),
        inquiry=_any_of(data["inquiry_patterns"]), asking=_any_of(data["asking_patterns"]),
        in_procedure=_any_of(data["in_procedure_patterns"]),
        not_current=_any_of(data["not_current_patterns"]))


SCOPE_RULES = AdminFile("scope_rules.yaml", load_scope_rules)
