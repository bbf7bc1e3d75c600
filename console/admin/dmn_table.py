"""The time-limit decision table (bpmn/time_limits.dmn) as a grid admins edit.

The engine parses a DMN cell only when the decision runs, so an unknown value or a typo would
first show up as an incident on a citizen's appeal. Every cell is therefore checked here before
anything is written or deployed, with a deliberately small grammar that covers the table:

* input cells: `-` (any value) or quoted values from the column's list, comma-separated:
  `"help","complaint"`;
* the clock output: one quoted value from its list (`"working_days"` or `"hours"`);
* the limits: a positive number (TimeLimits checks whole working days, steps within completion).

Every combination of input values must match exactly one rule (hit policy UNIQUE), so that the
compute-deadlines worker never meets a gap or an overlap.
"""
from __future__ import annotations

import dataclasses
import io
import itertools
import re
import uuid
import xml.etree.ElementTree as ElementTree

from external_tasks.deadlines import DECISION_KEY, TimeLimits

DMN = "https://www.omg.org/spec/DMN/20191111/MODEL/"
#: Prefixes as Modeler writes them, so that a saved table still reads like Modeler's file.
NAMESPACES = {"": DMN, "dmndi": "https://www.omg.org/spec/DMN/20191111/DMNDI/",
              "dc": "http://www.omg.org/spec/DMN/20180521/DC/",
              "camunda": "http://camunda.org/schema/1.0/dmn",
              "modeler": "http://camunda.org/schema/modeler/1.0"}
for _prefix, _uri in NAMESPACES.items():
    ElementTree.register_namespace(_prefix, _uri)

ANY = "-"
QUOTED = re.compile(r'^"([^"]*)"$')
NUMBER = re.compile(r"^\d+(\.\d+)?$")
LIMIT_OUTPUTS = ("signFor", "feedback", "completion")
REQUIRED_OUTPUTS = ("clock",) + LIMIT_OUTPUTS


def _tag(name: str) -> str:
    return f"{{{DMN}}}{name}"


class TableError(ValueError):
    """The table cannot be saved; `problems` name the row, the column and what is wrong."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclasses.dataclass(frozen=True)
class Column:
    label: str
    name: str                 # the input expression (kind) or the output name (signFor)
    values: tuple[str, ...]   # the allowed values (inputValues / outputValues), if listed


@dataclasses.dataclass
class Rule:
    id: str
    description: str
    inputs: list[str]
    outputs: list[str]


@dataclasses.dataclass
class Table:
    inputs: list[Column]
    outputs: list[Column]
    rules: list[Rule]

    def output_index(self, name: str) -> int:
        return next(index for index, column in enumerate(self.outputs) if column.name == name)


def _text(element: ElementTree.Element | None) -> str:
    found = element.find(_tag("text")) if element is not None else None
    return (found.text or "").strip() if found is not None else ""


def _listed(text: str) -> tuple[str, ...]:
    return tuple(QUOTED.match(item.strip()).group(1) for item in text.split(",")
                 if QUOTED.match(item.strip())) if text else ()


def _decision_table(root: ElementTree.Element) -> ElementTree.Element:
    decision = next((element for element in root.iter(_tag("decision"))
                     if element.get("id") == DECISION_KEY), None)
    table = decision.find(_tag("decisionTable")) if decision is not None else None
    if table is None:
        raise TableError([f"文件中没有决策表 {DECISION_KEY} (no decision '{DECISION_KEY}' with a "
                          "decision table)"])
    return table


def parse(content: bytes) -> tuple[ElementTree.ElementTree, Table]:
    try:
        tree = ElementTree.ElementTree(ElementTree.fromstring(content))
    except ElementTree.ParseError as exc:
        raise TableError([f"不是格式正确的 XML (not well-formed XML): {exc}"]) from None
    table = _decision_table(tree.getroot())
    inputs = [Column(element.get("label") or "", _text(element.find(_tag("inputExpression"))),
                     _listed(_text(element.find(_tag("inputValues")))))
              for element in table.findall(_tag("input"))]
    outputs = [Column(element.get("label") or "", element.get("name") or "",
                      _listed(_text(element.find(_tag("outputValues")))))
               for element in table.findall(_tag("output"))]
    rules = [Rule(element.get("id") or "", (element.findtext(_tag("description")) or "").strip(),
                  [_text(entry) for entry in element.findall(_tag("inputEntry"))],
                  [_text(entry) for entry in element.findall(_tag("outputEntry"))])
             for element in table.findall(_tag("rule"))]
    return tree, Table(inputs, outputs, rules)


def _input_values(cell: str, column: Column) -> tuple[str, ...] | str:
    """The values an input cell matches (all of the column's for `-`), or what is wrong."""
    if cell in ("", ANY):
        return column.values
    values = []
    for item in (part.strip() for part in cell.split(",")):
        quoted = QUOTED.match(item)
        if not quoted:
            return (f"“{item}”应写成带英文双引号的取值, 如 \"{column.values[0]}\"; 多个取值用逗号分隔, "
                    f"- 表示任意值")
        if quoted.group(1) not in column.values:
            return f"“{quoted.group(1)}”不是可选的取值, 应为 {', '.join(column.values)} 之一"
        values.append(quoted.group(1))
    return tuple(values)


def _row_limits(rule: Rule, table: Table) -> TimeLimits | str:
    clock_column = table.outputs[table.output_index("clock")]
    clock = QUOTED.match(rule.outputs[table.output_index("clock")])
    if not clock or clock.group(1) not in clock_column.values:
        choices = " 或 ".join(f'"{value}"' for value in clock_column.values)
        return (f"「{clock_column.label}」应为 {choices}, "
                f"而不是 {rule.outputs[table.output_index('clock')] or '空'}")
    limits = {}
    for name in LIMIT_OUTPUTS:
        cell = rule.outputs[table.output_index(name)]
        if not NUMBER.match(cell):
            label = table.outputs[table.output_index(name)].label
            return f"「{label}」应为正数, 如 3 或 0.5, 而不是 {cell or '空'}"
        limits[name] = float(cell)
    try:
        return TimeLimits(clock.group(1), limits["signFor"], limits["feedback"],
                          limits["completion"])
    except ValueError as exc:
        return str(exc)


def check(table: Table) -> dict[str, TimeLimits]:
    """Every cell and the coverage; the limits of each rule by rule id. Raises TableError."""
    problems = []
    names = [column.name for column in table.outputs]
    missing = [name for name in REQUIRED_OUTPUTS if name not in names]
    if missing or any(not column.values for column in table.inputs):
        raise TableError([f"决策表结构不对: 缺少输出 {', '.join(missing) or '-'}, 或输入列未列出可选值 "
                          "(inputValues) (the table needs outputs clock, signFor, feedback, "
                          "completion and inputs with listed values)"])
    if not table.rules:
        raise TableError(["决策表至少要有一条规则 (no rules)"])
    matches: dict[tuple, list[int]] = {}
    limits = {}
    for row, rule in enumerate(table.rules, start=1):
        sets = []
        for column, cell in zip(table.inputs, rule.inputs):
            values = _input_values(cell, column)
            if isinstance(values, str):
                problems.append(f"第 {row} 行「{column.label}」: {values}")
                values = ()
            sets.append(values)
        for combination in itertools.product(*sets):
            matches.setdefault(combination, []).append(row)
        found = _row_limits(rule, table)
        if isinstance(found, str):
            problems.append(f"第 {row} 行: {found}")
        else:
            limits[rule.id] = found
    if not problems:
        for combination in itertools.product(*(column.values for column in table.inputs)):
            rows = matches.get(combination, [])
            case = ", ".join(f"{column.label}={value}"
                             for column, value in zip(table.inputs, combination))
            if not rows:
                problems.append(f"没有规则适用于 {case}: 每种情形都要恰好有一条规则 (a gap)")
            elif len(rows) > 1:
                problems.append(f"第 {'、'.join(map(str, rows))} 行同时适用于 {case}: "
                                "每种情形只能有一条规则 (hit policy UNIQUE)")
    if problems:
        raise TableError(problems)
    return limits


def limits_for(table: Table, values: dict[str, str]) -> TimeLimits:
    """The limits the (checked) table gives an appeal with these input values."""
    limits = check(table)
    for rule in table.rules:
        if all(values[column.name] in _input_values(cell, column)
               for column, cell in zip(table.inputs, rule.inputs)):
            return limits[rule.id]
    raise TableError([f"没有规则适用于 {values}"])  # check() rules this out


def _set_text(entry: ElementTree.Element, text: str) -> None:
    found = entry.find(_tag("text"))
    if found is None:
        found = ElementTree.SubElement(entry, _tag("text"))
    found.text = text


def write(tree: ElementTree.ElementTree, rules: list[Rule]) -> bytes:
    """The file with the table's rules replaced by `rules` (existing ones keep their ids and
    anything else Modeler wrote; new ones get fresh ids)."""
    table = _decision_table(tree.getroot())
    existing = {element.get("id"): element for element in table.findall(_tag("rule"))}
    for element in existing.values():
        table.remove(element)
    for rule in rules:
        element = existing.get(rule.id)
        if element is None:
            rule.id = f"Rule_{uuid.uuid4().hex[:12]}"
            element = ElementTree.Element(_tag("rule"), id=rule.id)
            for kind, prefix, cells in (("inputEntry", "UnaryTests", rule.inputs),
                                        ("outputEntry", "LiteralExpression", rule.outputs)):
                for _ in cells:
                    ElementTree.SubElement(element, _tag(kind),
                                           id=f"{prefix}_{uuid.uuid4().hex[:12]}")
        description = element.find(_tag("description"))
        if rule.description and description is None:
            description = ElementTree.Element(_tag("description"))
            element.insert(0, description)
        if description is not None:
            description.text = rule.description
        for entry, cell in zip(element.findall(_tag("inputEntry")), rule.inputs):
            _set_text(entry, "" if cell == ANY else cell)  # empty: any value, as Modeler writes it
        for entry, cell in zip(element.findall(_tag("outputEntry")), rule.outputs):
            _set_text(entry, cell)
        table.append(element)
    ElementTree.indent(tree, space="  ")
    out = io.BytesIO()
    tree.write(out, encoding="UTF-8", xml_declaration=True)
    return out.getvalue() + b"\n"
