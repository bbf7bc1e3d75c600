"""受理范围: flags appeals that are emergencies to transfer or matters the plan excludes.

Topic `check-scope`. The county plan (萧政办秘〔2022〕18号 三（二）) accepts every non-emergency
appeal and excludes matters for 诉讼, 仲裁, 纪检监察, 行政复议, matters already in 信访, and matters
touching 国家秘密, 商业秘密, 个人隐私 or against 公序良俗. The rules are data the hotline admins
edit, `deploy/config/scope_rules.yaml`; this worker only flags: a flagged appeal goes to a human
review task in the process and is never dropped.

Reads `title`, `content`, `kind`; sets `scopeFlag` ("in_scope" | "emergency" | "excluded"),
`scopeMatters` (rule codes), `scopeReason`, `scopeReferral` (Chinese, for the caller),
`scopeTransferTo` (numbers to transfer an emergency to) and `scopeEvidence` (the sentences that
matched, for the reviewer).
"""
from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from deploy.admin_files import ConfigFileError, file_version, load_admin_file
from deploy.settings import CONFIG_DIR
from external_tasks.runtime import IncidentError, TaskRouter

SCOPE_RULES_FILE = CONFIG_DIR / "scope_rules.yaml"

IN_SCOPE, EMERGENCY, EXCLUDED = "in_scope", "emergency", "excluded"
INQUIRY_KIND = "inquiry"
IN_SCOPE_REASON = "未发现紧急事项或不予受理情形，按正常流程受理。"

router = TaskRouter()


# -- admin data files: load, validate, name each bad entry and field ---------------------------

# -- the rules file ----------------------------------------------------------------------------

def _valid_regex(text: str) -> None:
    try:
        re.compile(text)
    except re.error as exc:
        raise ValidationError(f"不是有效的正则表达式 (invalid regular expression): {exc}") from None


_pattern_list = dict(cls_or_instance=fields.String(validate=[
    validate.Length(min=1, error="不能为空"), _valid_regex]))


class MatterSchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(
        r"^[a-z][a-z0-9]*$", error="只能使用小写英文字母和数字，以字母开头 (lower-case letters and digits)"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=32))
    kind = fields.String(required=True, validate=validate.OneOf(
        [EMERGENCY, EXCLUDED], error="应为 emergency（紧急转接）或 excluded（不予受理）"))
    transfer_to = fields.String(load_default=None, validate=validate.Regexp(
        r"^\d{3,5}$", error="应为转接号码，如 110"))
    answerable_inquiry = fields.Boolean(load_default=False)
    patterns = fields.List(**_pattern_list, required=True, validate=validate.Length(
        min=1, error="至少要有一条命中条件"))
    negative_patterns = fields.List(**_pattern_list, load_default=list)
    reason = fields.String(required=True, validate=validate.Length(min=1))
    referral = fields.String(required=True, validate=validate.Length(min=1))

    @validates_schema
    def check_kind_fields(self, data, **_):
        if data["kind"] == EMERGENCY and not data["transfer_to"]:
            raise ValidationError("紧急事项必须写明转接号码", "transfer_to")
        if data["kind"] == EXCLUDED and data["transfer_to"]:
            raise ValidationError("只有紧急事项（kind: emergency）才有转接号码", "transfer_to")
        if data["kind"] == EMERGENCY and data["answerable_inquiry"]:
            raise ValidationError("紧急事项不能按程序性咨询放过", "answerable_inquiry")


class ScopeRulesSchema(Schema):
    inquiry_patterns = fields.List(**_pattern_list, required=True)
    asking_patterns = fields.List(**_pattern_list, required=True)
    in_procedure_patterns = fields.List(**_pattern_list, required=True)
    not_current_patterns = fields.List(**_pattern_list, required=True)
    matters = fields.List(fields.Nested(MatterSchema), required=True,
                          validate=validate.Length(min=1))

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
    """deploy/config/scope_rules.yaml is not valid."""


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


def load_scope_rules(path: Path = SCOPE_RULES_FILE) -> ScopeRules:
    data = load_admin_file(path, ScopeRulesSchema(), ScopeRulesError)
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


_loaded: dict[Path, tuple[tuple[int, int], ScopeRules]] = {}


def current_scope_rules(path: Path = SCOPE_RULES_FILE) -> ScopeRules:
    """The rules file as it is now on disk, parsed again only after an admin changed it."""
    version = file_version(path)
    cached = _loaded.get(path)
    if cached and cached[0] == version:
        return cached[1]
    rules = load_scope_rules(path)
    _loaded[path] = (version, rules)
    return rules


# -- checking an appeal ------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"[。！？!?；;\n\r]+")
EVIDENCE_CONTEXT = 20  # characters shown either side of what matched


def split_sentences(text: str | None) -> list[str]:
    return [sentence.strip() for sentence in _SENTENCE_END.split(text or "") if sentence.strip()]


@dataclasses.dataclass(frozen=True)
class ScopeFinding:
    matter: ScopeMatter
    evidence: str  # the part of the sentence around what matched


@dataclasses.dataclass(frozen=True)
class ScopeResult:
    findings: tuple[ScopeFinding, ...]

    @property
    def flag(self) -> str:
        kinds = {finding.matter.kind for finding in self.findings}
        return EMERGENCY if EMERGENCY in kinds else EXCLUDED if kinds else IN_SCOPE

    def to_variables(self) -> dict:
        # Emergencies first: the reviewer must see the transfer before anything else.
        ordered = sorted(self.findings, key=lambda f: f.matter.kind != EMERGENCY)
        return {
            "scopeFlag": self.flag,
            "scopeMatters": [f.matter.code for f in ordered],
            "scopeReason": "；".join(f.matter.reason for f in ordered) or IN_SCOPE_REASON,
            "scopeReferral": "；".join(f.matter.referral for f in ordered),
            "scopeTransferTo": [f.matter.transfer_to for f in ordered if f.matter.transfer_to],
            "scopeEvidence": [f"{f.matter.name}：{f.evidence}" for f in ordered],
        }


def _is_procedural_inquiry(sentence: str, kind: str | None, rules: ScopeRules) -> bool:
    if not rules.inquiry or not rules.inquiry.search(sentence):
        return False
    if rules.in_procedure and rules.in_procedure.search(sentence):
        return False  # asking what to do about a procedure one is already in
    return kind == INQUIRY_KIND or bool(rules.asking and rules.asking.search(sentence))


def _find_in(sentence: str, matter: ScopeMatter, kind: str | None,
             rules: ScopeRules) -> re.Match | None:
    match = next((m for m in (p.search(sentence) for p in matter.patterns) if m), None)
    if not match:
        return None
    if matter.negative and matter.negative.search(sentence):
        return None
    if matter.kind == EMERGENCY and rules.not_current and rules.not_current.search(sentence):
        return None
    if matter.answerable_inquiry and _is_procedural_inquiry(sentence, kind, rules):
        return None
    return match


def check_appeal(title: str | None, content: str | None, kind: str | None,
                 rules: ScopeRules) -> ScopeResult:
    # The title is read with the first sentence: a bare title such as "行政复议" is a topic, and
    # the sentence after it says whether the caller is in that procedure or asks about it.
    sentences = split_sentences("，".join(text for text in (title, content) if text))
    findings = []
    for matter in rules.matters:
        for sentence in sentences:
            match = _find_in(sentence, matter, kind, rules)
            if match:
                start = max(match.start() - EVIDENCE_CONTEXT, 0)
                end = match.end() + EVIDENCE_CONTEXT
                evidence = ("…" if start else "") + sentence[start:end] + \
                           ("…" if end < len(sentence) else "")
                findings.append(ScopeFinding(matter, evidence))
                break
    return ScopeResult(tuple(findings))


@router.task("check-scope")
def check_scope(content: str | None, title: str | None = None, kind: str | None = None) -> dict:
    try:
        rules = current_scope_rules()
    except ConfigFileError as exc:
        # A broken rules file is the admins' to fix; retrying cannot help.
        raise IncidentError(f"受理范围规则文件有误，请管理员修正后在 Cockpit 重试: {exc}") from None
    return check_appeal(title, content, kind, rules).to_variables()
