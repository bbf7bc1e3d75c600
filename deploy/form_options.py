"""Fill the options of form fields from the admin data they stand for.

A select or taglist in a `.form` file marked with the custom property `options` (set in the
Modeler's form editor: Custom properties → options = units | townships | categories) lists the
directory's units or the taxonomy's categories. `suban deploy` rewrites those lists from the
data files before deploying, so Tasklist and the server-side checks offer the same choices as
the data admins edit; a test keeps the committed forms in step.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from admin_data.directory import DIRECTORY

HANDLING_KINDS = ("subdistrict", "town", "township", "development_zone", "department",
                  "utility", "office")


def _units() -> list[dict]:
    return [{"label": unit.name, "value": unit.id} for unit in DIRECTORY.current().units
            if unit.kind in HANDLING_KINDS]


def _townships() -> list[dict]:
    return [{"label": unit.name, "value": unit.id} for unit in DIRECTORY.current().units
            if unit.territorial]


def _categories() -> list[dict]:
    from admin_data.taxonomy import load_taxonomy

    return [{"label": leaf.full_name, "value": leaf.code} for leaf in load_taxonomy().leaves]


OPTION_SOURCES: dict[str, Callable[[], list[dict]]] = {
    "units": _units, "townships": _townships, "categories": _categories}


def _components(components: list[dict]):
    for component in components:
        yield component
        yield from _components(component.get("components", []))


def sync_form_options(forms_dir: Path) -> list[Path]:
    """Rewrite option lists from the data files; returns the forms that changed."""
    cache: dict[str, list[dict]] = {}
    changed = []
    for path in sorted(forms_dir.glob("*.form")):
        try:
            form = json.loads(path.read_text("utf-8"))
        except ValueError:
            continue  # deploy refuses it, naming the line
        if not isinstance(form, dict):
            continue
        dirty = False
        for component in _components(form.get("components", [])):
            source = (component.get("properties") or {}).get("options")
            if source is None:
                continue
            if source not in OPTION_SOURCES:
                raise ValueError(f"{path.name}: field '{component.get('key')}' asks for options "
                                 f"'{source}'; known: {', '.join(OPTION_SOURCES)}")
            options = cache.setdefault(source, OPTION_SOURCES[source]())
            if component.get("values") != options:
                component["values"] = options
                dirty = True
        if dirty:
            path.write_text(json.dumps(form, ensure_ascii=False, indent=2) + "\n", "utf-8")
            changed.append(path)
    return changed
