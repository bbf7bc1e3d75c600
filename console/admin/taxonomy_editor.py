"""The taxonomy and dispatch table's editor (/admin/files/taxonomy): the first-level categories
as a tree of their leaves, collapsed and searchable by name, code and keyword; per leaf the
department picked from the directory, the co-units as a multiple choice and a move to another
category. The preview routes a sample appeal with `propose_route`, as the routing worker does.
"""
from __future__ import annotations

import re
import typing

from admin_data.directory import Directory
from admin_data.environment import Settings
from console.admin.files import DIRECTORY, TAXONOMY
from console.admin.forms import Input
from console.admin.views import VIEWS, EditorView, child, multiple_choice, walk

LEAF = re.compile(r"categories-(\d+)-leaves-(\d+)")
MOVE = re.compile(r"(categories-(\d+)-leaves-(\d+)-)move")
#: A moved leaf's index in its new category: after the leaves already there.
MOVED = 1000


def unit_choices(directory: Directory | None, territorial: bool = False) -> list[tuple[str, str]]:
    """The directory's units to pick from: departments (and other non-territorial units), or the
    townships."""
    return [(unit.id, f"{unit.name} ({unit.id})") for unit in (directory.units if directory else ())
            if unit.territorial == territorial]


def _leaf_inputs(inputs: list[Input], settings: Settings) -> list[Input]:
    departments = unit_choices(DIRECTORY.current(settings))
    categories = [(str(index), child(row, "name").value or child(row, "code").value)
                  for index, row in enumerate(inputs[0].rows) if row.kind == "entry"]
    for item in list(walk(inputs)):
        if item.name.endswith("-department"):
            item.kind = "select"
            item.choices = [("", "（请选择）")] + departments
            if item.value not in dict(item.choices):
                item.choices.append((item.value, f"{item.value} (单位目录中没有)"))
        elif item.name.endswith("-co_units"):
            multiple_choice(item, departments)
        elif item.kind == "entry" and (found := LEAF.fullmatch(item.name)):
            item.children.append(Input(f"{item.name}-move", "移到一级分类", "select",
                                       found.group(1), choices=categories,
                                       help="编码的一级部分随之改变"))
    return inputs


def _moved(form: dict, settings: Settings) -> dict:
    """The form with each leaf the admin moved put at the end of its new category, its code's
    first part that of the new category."""
    moves = {found.group(1): (form[key], found.group(2), found.group(3))
             for key in form if (found := MOVE.fullmatch(key))}
    result = {}
    for key, value in form.items():
        prefix = next((prefix for prefix in moves if key.startswith(prefix)), None)
        target, source, leaf = moves.get(prefix, (None, None, None))
        if prefix is None or not target.isdigit() or target == source:
            result[key] = value
            continue
        step = key[len(prefix):]
        if step == "move":
            continue
        if step == "code":
            value = f"{form.get(f'categories-{target}-code', '')}.{value.partition('.')[2]}"
        result[f"categories-{target}-leaves-{(int(source) + 1) * MOVED + int(leaf)}-{step}"] = value
    return {key: value for key, value in result.items() if not MOVE.fullmatch(key)}


def _context(page: dict, values: typing.Mapping[str, str], settings: Settings) -> dict:
    directory = DIRECTORY.current(settings)
    taxonomy = TAXONOMY.current(settings)
    return {"child": child,
            "unit_names": {unit.id: unit.name for unit in directory.units} if directory else {},
            "townships": unit_choices(directory, territorial=True),
            "leaves": [(leaf.code, leaf.full_name) for leaf in taxonomy.leaves] if taxonomy else []}


VIEWS[TAXONOMY.name] = EditorView("admin/taxonomy_editor.html", inputs=_leaf_inputs, posted=_moved,
                                  context=_context)
