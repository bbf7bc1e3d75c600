"""受理范围: flags appeals that are emergencies to transfer or matters the plan excludes.

Topic `check-scope`. The county plan (萧政办秘〔2022〕18号 三（二）) accepts every non-emergency
appeal and excludes matters for 诉讼, 仲裁, 纪检监察, 行政复议, matters already in 信访, and matters
touching 国家秘密, 商业秘密, 个人隐私 or against 公序良俗. The rules are data the hotline admins
edit (`admin_data.scope_rules`); this worker only flags: a flagged appeal goes to a human
review task in the process and is never dropped.

Reads `title`, `content`, `kind`; sets `scopeFlag` ("in_scope" | "emergency" | "excluded"),
`scopeMatters` (rule codes), `scopeReason`, `scopeReferral` (Chinese, for the caller),
`scopeTransferTo` (numbers to transfer an emergency to) and `scopeEvidence` (the sentences that
matched, for the reviewer).
"""
from __future__ import annotations

import dataclasses
import re

from admin_data.scope_rules import EMERGENCY, EXCLUDED, SCOPE_RULES, ScopeMatter, ScopeRules
from external_tasks.runtime import TaskRouter

IN_SCOPE = "in_scope"
INQUIRY_KIND = "inquiry"
IN_SCOPE_REASON = "未发现紧急事项或不予受理情形，按正常流程受理。"

router = TaskRouter()


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
    return check_appeal(title, content, kind, SCOPE_RULES.current()).to_variables()
