"""The directory's editor (/admin/files/directory): the units as a table (kind, name, demo
account, the contact channels notifications.yaml gives them), the county leaders with the units
they are in charge of as a multiple choice. A unit or leader still named in another admin file
is not removed: the error beside the table says where it is named.
"""
from __future__ import annotations

import re
import typing

from admin_data.directory import Directory
from admin_data.environment import Settings
from connectors.config import UnitChannels
from console.admin.files import DIRECTORY, DUTY_ROSTER, GAZETTEER, NOTIFICATIONS, TAXONOMY
from console.admin.forms import Input
from console.admin.views import VIEWS, EditorView, child, multiple_choice, walk


def _leader_inputs(inputs: list[Input], settings: Settings) -> list[Input]:
    """In charge of: a multiple choice of the units in the table (as edited on this page)."""
    units = [(child(row, "id").value, f"{child(row, 'name').value} ({child(row, 'id').value})")
             for row in inputs[0].rows if child(row, "id").value]
    for item in walk(inputs):
        if item.name.endswith("-in_charge_of"):
            multiple_choice(item, units)
    return inputs


def references(entry_id: str, settings: Settings) -> dict[str, list[str]]:
    """Where the other admin files name a unit or leader: by the file's title, the places."""
    found: dict[str, list[str]] = {}
    taxonomy = TAXONOMY.current(settings)
    for leaf in taxonomy.leaves if taxonomy else ():
        if leaf.department == entry_id:
            found.setdefault(TAXONOMY.title, []).append(f"{leaf.full_name} (主管部门)")
        if entry_id in leaf.co_units:
            found.setdefault(TAXONOMY.title, []).append(f"{leaf.full_name} (配合单位)")
    gazetteer = GAZETTEER.current(settings)
    if gazetteer and any(entry_id in units for _, units in gazetteer.names.values()):
        found[GAZETTEER.title] = ["乡镇 (街道) 的地名"]
    roster = DUTY_ROSTER.current(settings) or ()
    days = [f"{slot.start:%Y-%m-%d}" for slot in roster if slot.leader == entry_id]
    if days:
        found[DUTY_ROSTER.title] = days[:3] + ["等"] * (len(days) > 3)
    notifications = NOTIFICATIONS.current(settings)
    if notifications and entry_id in notifications.units | notifications.leaders:
        found[NOTIFICATIONS.title] = ["联系渠道"]
    return found


#: The posted form's list of the rows whose deletion was taken back (ids, one a line).
KEPT = "kept"
ROW = re.compile(r"((units|leaders)-\d+)-delete")


def _keep_named(form: dict, settings: Settings) -> dict:
    """Rows ticked for deletion whose unit or leader another file still names stay, so that
    nothing of them is lost; `_check_removals` says why."""
    rows = {found.group(1) for key in form if (found := ROW.fullmatch(key))
            and references(form.get(f"{found.group(1)}-id", ""), settings)}
    return ({key: value for key, value in form.items() if key.removesuffix("-delete") not in rows}
            | {KEPT: "\n".join(form[f"{row}-id"] for row in sorted(rows))})


def _check_removals(current: Directory | None, data: dict, form: dict, settings: Settings) -> dict:
    """A unit or leader removed (or renumbered) while another file still names it: refused,
    next to its table, with where it is named."""
    if current is None:
        return {}
    kept = {entry.get("id") for group in ("units", "leaders") for entry in data.get(group, [])}
    refused = set(form.get(KEPT, "").split())
    errors: dict[str, list[str]] = {}
    for group, entries in (("units", current.units), ("leaders", current.leaders)):
        rows = {entry.get("id"): index for index, entry in enumerate(data.get(group, []))}
        for entry in entries:
            if (entry.id not in kept or entry.id in refused) and (
                    named := references(entry.id, settings)):
                places = "；".join(f"{title}: {'、'.join(where)}" for title, where in named.items())
                errors.setdefault(group, []).append(
                    f"「{entry.name}」({entry.id}) 不能删除或改编号, 它仍用于 {places}。"
                    "请先在那里改为其他单位。")
                if entry.id in rows:
                    errors[f"{group}-{rows[entry.id]}"] = ["仍在使用, 已保留 (见表格上方的说明)"]
    return errors


def _describe(channels: UnitChannels) -> str:
    parts = [f"邮件 {address}" for address in channels.emails]
    if channels.webhook:
        parts.append({"wecom": "企业微信机器人", "dingtalk": "钉钉机器人"}.get(
            channels.webhook.style, channels.webhook.style))
    return "；".join(parts)


def _context(page: dict, values: typing.Mapping[str, str], settings: Settings) -> dict:
    notifications = NOTIFICATIONS.current(settings)
    channels = notifications.units | notifications.leaders if notifications else {}
    return {"child": child, "channels": {key: _describe(value) for key, value in channels.items()}}


VIEWS[DIRECTORY.name] = EditorView("admin/directory_editor.html", inputs=_leader_inputs,
                                   posted=_keep_named, check=_check_removals, context=_context)
