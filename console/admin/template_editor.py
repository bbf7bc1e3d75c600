"""The message templates' editor: per template its channel (who gets it, through what), its subject
and text with the placeholders its channel allows offered from a list, the text rendered for a
sample appeal (caller masked, as every message is) while the admin types, and for an SMS its
length and the number of messages it is billed as.

The rendering as the admin types is the page's script (console/static/admin/templates.js); the
check and the preview on the server render with the connectors' own `render`, and the schema
(admin_data.notifications) refuses an unknown placeholder next to its field.
"""
from __future__ import annotations

import os
import typing

from admin_data.directory import Directory, load_directory
from admin_data.environment import Settings
from admin_data.notifications import AUDIENCE_NAMES, AUDIENCES, LEADER_FIELDS, allowed_fields
from connectors.config import load_config
from connectors.sms import SMS_PART, SMS_SINGLE, sms_content, sms_parts
from connectors.templates import Template, TemplateError, message_fields, render
from console.admin.views import VIEWS, EditorView

#: The sample appeal every template is rendered with (the caller is masked when rendered).
SAMPLE_APPEAL = {
    "appealNumber": "XS20261127-0001", "kind": "complaint", "categoryName": "城乡建设 / 物业服务",
    "title": "小区物业不清理垃圾", "content": "小区楼道垃圾堆积一周无人清理", "township": "fengcheng",
    "address": "凤城街道某小区", "callerName": "王小明", "callerPhone": "13900005678",
    "leadUnit": "fengcheng", "coUnits": ["housing"],
    "signForDeadline": "2026-11-30T23:59:59+08:00", "feedbackDeadline": "2026-12-02T23:59:59+08:00",
    "completionDeadline": "2026-12-11T23:59:59+08:00", "scopeReason": "需通过仲裁程序解决",
    "scopeReferral": "县劳动人事争议仲裁委员会", "alertReason": "办结时限将至",
}
#: The sample of a leader's message: the duty digest's fields.
SAMPLE_LEADER_FIELDS = {"leaderName": "县长", "digestDay": "2026-11-25", "appealCount": "1",
                        "appealList": "XS20261125-0003「路灯不亮」（凤城街道）"}
assert set(SAMPLE_LEADER_FIELDS) == set(LEADER_FIELDS)
#: The unit a unit's sample message goes to.
SAMPLE_UNIT = "fengcheng"


def sample_values(directory: Directory) -> dict[str, dict[str, str]]:
    """Each audience's placeholder values for the sample appeal."""
    values = {audience: message_fields(SAMPLE_APPEAL, directory, audience=audience,
                                       unit_id=SAMPLE_UNIT)
              for audience in AUDIENCES if audience != "leader"}
    return values | {"leader": dict(SAMPLE_LEADER_FIELDS)}


def _directory(settings: Settings) -> Directory:
    return load_directory(settings.config_dir / "directory.yaml")


def sms_sign(settings: Settings) -> str:
    """The SMS signature the connector puts in front of a caller's text (the environment's
    SUBAN_SMS_SIGN over the file's), '' while the file cannot be read."""
    try:
        return load_config(settings.config_dir / "notifications.yaml", env=os.environ,
                           directory=_directory(settings)).sms.sign
    except ValueError:
        return ""


def rendered(template: Template, values: dict[str, dict[str, str]], sign: str) -> str:
    """The template for the sample appeal; an SMS with its length and message count."""
    try:
        message = render(template, values[template.audience])
    except TemplateError as exc:
        return f"无法生成: {exc}"
    if template.audience != "caller":
        return f"{message.subject}\n{message.text}".strip()
    content = sms_content(sign, message.text)
    return f"{content}\n（短信 {len(content)} 字, 计 {sms_parts(content)} 条）"


def template_preview(current, new, sample: dict, settings: Settings) -> list[tuple[str, str, str]]:
    values = sample_values(new.directory)
    sign = sms_sign(settings)

    def shown(config, template_id: str) -> str:
        template = config.templates.get(template_id) if config else None
        return rendered(template, values, sign) if template else "（无此模板）"
    ids = sorted(set(new.templates) | set(current.templates if current else ()))
    return [(template_id, shown(current, template_id), shown(new, template_id))
            for template_id in ids]


def templates_page(page: dict, values: typing.Mapping[str, str], settings: Settings) -> dict:
    """What the page's script needs: each channel's placeholders (name, what it shows) and
    their sample values, the SMS sign and the SMS lengths."""
    return {"catalogue": {
        "fields": {audience: [[name, field.description] for name, field in
                              allowed_fields(audience).items()] for audience in AUDIENCES},
        "values": sample_values(_directory(settings)), "sign": sms_sign(settings),
        "single": SMS_SINGLE, "part": SMS_PART, "names": AUDIENCE_NAMES}}


VIEWS["notifications"] = EditorView("admin/message_templates.html", context=templates_page)
