"""How a structured editor draws its file when the schema's own form is not enough: its page
template, choices that come from other files (a unit picked from the directory), a form posted
in another shape (a leaf moved to another category), checks that reach beyond the file (a unit
still named elsewhere). An editor module registers its view by the file's name; the editor
(`console.admin._structured_editor`) keeps the cycle: check → preview → save → version.
"""
from __future__ import annotations

import dataclasses
import typing

from admin_data.environment import Settings
from console.admin.forms import Input

DEFAULT_TEMPLATE = "admin/editor.html"


def _unchanged(value, *_):
    return value


def _nothing(*_) -> dict:
    return {}


@dataclasses.dataclass(frozen=True)
class EditorView:
    template: str = DEFAULT_TEMPLATE
    #: (inputs of the schema, settings) → the inputs as the page draws them.
    inputs: typing.Callable[[list[Input], Settings], list[Input]] = _unchanged
    #: (posted form, settings) → the form as `forms.form_data` reads it.
    posted: typing.Callable[[dict, Settings], dict] = _unchanged
    #: (the file as loaded now or None, new data, the form as posted, settings) → errors by
    #: input name beyond the file's schema.
    check: typing.Callable[[typing.Any, dict, dict, Settings], dict[str, list[str]]] = _nothing
    #: (the page so far: data, inputs, errors …; the request's values; settings) → more for
    #: the template.
    context: typing.Callable[[dict, typing.Mapping[str, str], Settings], dict] = _nothing


VIEWS: dict[str, EditorView] = {}
DEFAULT = EditorView()


def view_of(name: str) -> EditorView:
    return VIEWS.get(name, DEFAULT)


def posted_form(form) -> dict[str, str]:
    """A posted form as one text per input: the values of a multiple choice (one per chosen
    option) as lines, as `forms.form_data` reads a list."""
    return {key: "\n".join(values) for key, values in form.lists()}


def walk(inputs: list[Input]) -> typing.Iterator[Input]:
    """Every input, its groups' and entries' inputs included."""
    for item in inputs:
        yield item
        yield from walk(item.children)
        yield from walk(item.rows)


def has_errors(item: Input) -> bool:
    """Whether the input or anything in it has an error (an entry to open)."""
    return any(found.errors for found in walk([item]))


def child(entry: Input, key: str) -> Input | None:
    """An entry's input of the field `key`."""
    return next((found for found in entry.children if found.name == f"{entry.name}-{key}"), None)


def multiple_choice(item: Input, choices: list[tuple[str, str]]) -> None:
    """A list of ids (a text area, one a line) as a multiple choice, the chosen ones first (seen
    without scrolling); an id not among the choices stays, marked, so that nothing is lost and
    its error shows."""
    chosen = item.value.split()
    item.kind, item.value = "multiselect", chosen
    item.choices = sorted(choices + [(value, f"{value} (单位目录中没有)") for value in chosen
                                     if value not in dict(choices)],
                          key=lambda choice: choice[0] not in chosen)
