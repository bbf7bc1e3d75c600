"""Element templates (Camunda 7 schema) for Camunda Modeler: each worker topic as a ready-made
service task, so a designer picks “计算办理时限” from a list instead of typing a topic and the
input parameters the worker reads.

Generated, never edited by hand (`suban templates`). The topics and the process variables each
worker reads come from the workers' registrations (`external_tasks.build_router`); the choices of
a dropdown from the code or admin data the worker checks its input against. What code cannot
say — the name a designer sees and which handler parameters the BPMN sets as input parameters —
is in `WORKER_TEMPLATES`. tests/test_element_templates.py fails when the file is stale, when a
registered topic has no entry here, or when a BPMN service task does not fit its template.
"""
from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path

import xml.etree.ElementTree as ElementTree

from admin_data.environment import REPO_ROOT
from admin_data.notifications import NOTIFICATIONS

SCHEMA_URL = "https://unpkg.com/@camunda/element-templates-json-schema/resources/schema.json"
TEMPLATES_FILE = REPO_ROOT / "bpmn" / "element-templates" / "suban-workers.json"
ID_PREFIX = "suban."
#: Raise when a template changes in a way Modeler should offer as an update of existing tasks.
TEMPLATE_VERSION = 1


class TemplateSourceError(ValueError):
    """The workers' registrations, the table below or a data file do not fit together."""


@dataclasses.dataclass(frozen=True)
class Input:
    """A `camunda:inputParameter` the BPMN sets for the worker; `name` is a handler parameter.

    `choices` (value → label, computed on generation) makes a dropdown; `fixed` a hidden value;
    otherwise a text field that must not be empty, pre-filled with `value`.
    """
    name: str
    label: str = ""
    description: str = ""
    choices: typing.Callable[[], dict[str, str]] | None = None
    fixed: str | None = None
    value: str = ""


@dataclasses.dataclass(frozen=True)
class WorkerTemplate:
    topic: str
    name: str
    description: str
    inputs: tuple[Input, ...] = ()
    variant: str = ""  # a second template of one topic, e.g. notifications to callers or units

    @property
    def id(self) -> str:
        return ID_PREFIX + self.topic + (f".{self.variant}" if self.variant else "")


def labelled(values: typing.Iterable[str], labels: dict[str, str], where: str) -> dict[str, str]:
    """`values` (what the worker accepts) with their designer-facing labels, in that order."""
    values = list(values)
    missing = [value for value in values if value not in labels]
    unknown = sorted(set(labels) - set(values))
    if missing or unknown:
        raise TemplateSourceError(
            f"{where}: labels in deploy/templates.py do not match the worker's values "
            f"(no label: {missing or '-'}; label of no value: {unknown or '-'})")
    return {value: f"{labels[value]} ({value})" for value in values}


def notification_templates(audience: str) -> dict[str, str]:
    """The message templates of the notifications file meant for `audience`."""
    return {template_id: f"{spec['description'] or template_id} ({template_id})"
            for template_id, spec in NOTIFICATIONS.current()["templates"].items()
            if spec["audience"] == audience}


def overdue_deadlines() -> dict[str, str]:
    from external_tasks.overdue import DEADLINES

    return labelled(DEADLINES, {"signFor": "签收超期", "feedback": "首次反馈超期",
                                "completion": "办结超期"}, "mark-overdue deadline")


def unit_audiences() -> dict[str, str]:
    from external_tasks.notify import AUDIENCES

    # `caller` has its own template; `unit:<id>` names one unit and is no fixed choice.
    fixed_units = [audience for audience in AUDIENCES if audience != "caller" and "<" not in audience]
    return labelled(fixed_units, {"lead_unit": "牵头单位", "co_units": "全部配合单位",
                                  "hotline": "热线中心"}, "send-notification audience")


def daily_runs() -> dict[str, str]:
    from admin_data.hotline import DailySchema

    return labelled(DailySchema().fields, {"calendar_check": "检查节假日数据",
                                           "duty_digest": "领导接听件日报",
                                           "knowledge_expiry": "知识条目到期提醒",
                                           "suggester_retrain": "分类建议模型重训"},
                    "plan-daily-run dailyRun")


WORKER_TEMPLATES: tuple[WorkerTemplate, ...] = (
    WorkerTemplate("register-appeal", "登记工单",
                   "给工单编号（业务键）、受理时间，遮蔽来电人信息，判断领导接听件。"),
    WorkerTemplate("alert-major-risk", "重大风险预警",
                   "标题、内容或地址含 assessment.yaml 的重大风险词时，即时通知热线中心和坐班县领导，"
                   "设置 majorRiskWords。"),
    WorkerTemplate("check-scope", "核查受理范围",
                   "标出紧急警情（110/119/120/122）和不予受理事项，设置 scopeFlag、scopeReason。"),
    WorkerTemplate("route-appeal", "提出派单建议",
                   "按属地、属事提出牵头单位和配合单位，并判断可否自动派单。"),
    WorkerTemplate("compute-deadlines", "计算办理时限",
                   "按 time_limits 决策表和工作日历计算签收、反馈、办结时限及提醒时间。"),
    WorkerTemplate("collect-opinions", "汇总意见",
                   "多实例子流程结束后，汇总各方意见（每个实例的本地变量 opinionBy 和意见变量）"
                   "为一个列表变量及其文字形式 <列表>Text，供后续表单显示。",
                   (Input("opinionsVariable", "意见列表变量",
                          "保存意见列表的流程变量名，如 assistOpinions", value="assistOpinions"),
                    Input("opinionVariable", "意见变量",
                          "各实例中保存意见的本地变量名，如 assistOpinion", value="assistOpinion"))),
    WorkerTemplate("record-return", "记录退单",
                   "记下一次退单的理由和热线中心的审核结论（是否不当退单），供考核统计。"),
    WorkerTemplate("mark-overdue", "标记超期",
                   "时限计时器触发后记录超期：设置 <时限>Overdue 和 overdue。",
                   (Input("deadline", "超期的时限", choices=overdue_deadlines),)),
    WorkerTemplate("send-notification", "短信告知来电人",
                   "按消息模板 (notifications.yaml)给来电人发短信（来电人信息遮蔽）。",
                   (Input("template", "短信模板", choices=lambda: notification_templates("caller")),
                    Input("audience", fixed="caller")), variant="caller"),
    WorkerTemplate("send-notification", "通知单位",
                   "按消息模板 (notifications.yaml)给单位发邮件和机器人消息。",
                   (Input("template", "通知模板", choices=lambda: notification_templates("unit")),
                    Input("audience", "通知对象", choices=unit_audiences)), variant="unit"),
    WorkerTemplate("forward-merged-outcome", "转告并案工单办理结果",
                   "把主工单的答复（或会商后的解释说明）和牵头单位转给并入它的工单（消息 "
                   "MainAppealOutcome），各并案工单随即告知其诉求人并回访。"),
    WorkerTemplate("prepare-supervision", "拟定督办单",
                   "按督办级别（supervisionLevel 1–3）确定督办单位或县领导及回复期限。"),
    WorkerTemplate("check-extension-request", "核查延期申请",
                   "超出延期次数、天数或已过办结时限时抛出 BPMN 错误 EXTENSION_REFUSED；"
                   "否则给出延期后的办结时限，供热线中心审批。"),
    WorkerTemplate("extend-deadline", "延长办结时限",
                   "把批准的延期写入办结时限及提醒，单位流程的计时器随之重算。"),
    WorkerTemplate("send-duty-digest", "发送领导接听件日报",
                   "给当日坐班的县领导发送领导接听件日报（每天定时启动的流程用）。"),
    WorkerTemplate("plan-daily-run", "安排今日运行时刻",
                   "按热线设置 (hotline.yaml daily) 给出每日流程今天做事的时刻 runAt, 其后的计时器等到"
                   "那时 (每天零点启动的流程用)。",
                   (Input("dailyRun", "每日任务", choices=daily_runs),)),
    WorkerTemplate("check-holiday-calendar", "检查节假日数据",
                   "次年放假安排未录入时提醒热线中心，写明从哪天起受理的诉求将无法计算时限（每天定时启动的流程用）。"),
    WorkerTemplate("notify-expiring-knowledge", "提醒知识条目即将到期",
                   "已发布的知识条目 30 天内到期时通知所属单位，每个条目的每一版只通知一次（每天定时启动的流程用）。"),
    WorkerTemplate("train-category-suggester", "训练分类建议模型",
                   "上次训练已满设定天数时，用已办结诉求重新训练受理台的分类建议模型（每天定时启动的流程用）。"),
)


def _hidden(binding: dict, value: str) -> dict:
    return {"type": "Hidden", "value": value, "binding": binding}


def _input_property(spec: Input) -> dict:
    binding = {"type": "camunda:inputParameter", "name": spec.name}
    if spec.fixed is not None:
        return _hidden(binding, spec.fixed)
    field = {"label": spec.label, "description": spec.description or None}
    if spec.choices:
        choices = spec.choices()
        if not choices:
            raise TemplateSourceError(f"input '{spec.name}' has no choices")
        field |= {"type": "Dropdown", "value": next(iter(choices)),
                  "choices": [{"name": label, "value": value} for value, label in choices.items()]}
    else:
        field |= {"type": "String", "value": spec.value, "constraints": {"notEmpty": True}}
    return {key: value for key, value in field.items() if value is not None} | {"binding": binding}


def _reads(handler, inputs: set[str]) -> str:
    variables = [name for name in handler.variables or () if name not in inputs]
    required = [name for name in variables if name in handler.required]
    optional = [name for name in variables if name not in handler.required]
    parts = [f"需要 {', '.join(required)}"] if required else []
    parts += [f"可选 {', '.join(optional)}"] if optional else []
    return f"读取流程变量：{'；'.join(parts)}。" if parts else ""


def element_template(spec: WorkerTemplate, handler) -> dict:
    inputs = {item.name for item in spec.inputs}
    if handler.variables is not None and not inputs <= set(handler.variables):
        raise TemplateSourceError(f"{spec.id}: input(s) {sorted(inputs - set(handler.variables))} "
                                  f"are not parameters of the '{spec.topic}' handler")
    return {
        "$schema": SCHEMA_URL,
        "name": spec.name,
        "id": spec.id,
        "version": TEMPLATE_VERSION,
        "description": " ".join(filter(None, (spec.description, _reads(handler, inputs)))),
        "appliesTo": ["bpmn:Task"],
        "elementType": {"value": "bpmn:ServiceTask"},
        "properties": [
            _hidden({"type": "property", "name": "camunda:type"}, "external"),
            _hidden({"type": "property", "name": "camunda:topic"}, spec.topic),
            *(_input_property(item) for item in spec.inputs),
        ],
    }


def element_templates(handlers: dict | None = None) -> list[dict]:
    """One template per table entry, in the order an appeal meets the workers."""
    if handlers is None:
        from external_tasks import build_router

        handlers = build_router().handlers
    specs = {topic: [spec for spec in WORKER_TEMPLATES if spec.topic == topic] for topic in handlers}
    unserved = sorted({spec.topic for spec in WORKER_TEMPLATES} - set(handlers))
    untemplated = sorted(topic for topic, found in specs.items() if not found)
    if unserved or untemplated:
        raise TemplateSourceError(
            "deploy/templates.py WORKER_TEMPLATES and the registered topics differ: "
            f"no template for {untemplated or '-'}; no worker for {unserved or '-'}")
    return [element_template(spec, handlers[topic]) for topic, found in specs.items()
            for spec in found]


CAMUNDA_NAMESPACE = "{http://camunda.org/schema/1.0/bpmn}"


def template_misfit(element: ElementTree.Element, template: dict) -> list[str]:
    """How a BPMN element differs from what `template` writes into it (empty: it fits)."""
    problems = []
    given = {parameter.get("name"): (parameter.text or "").strip()
             for parameter in element.iter(f"{CAMUNDA_NAMESPACE}inputParameter")}
    for field in template["properties"]:
        binding, expected = field["binding"], field.get("value")
        if binding["type"] == "property":
            actual = element.get(CAMUNDA_NAMESPACE + binding["name"].removeprefix("camunda:"))
            if actual != expected:
                problems.append(f"{binding['name']} is {actual!r}, the template sets {expected!r}")
            continue
        name = binding["name"]
        if name not in given:
            problems.append(f"input parameter '{name}' is missing")
        elif field["type"] == "Hidden" and given[name] != expected:
            problems.append(f"input '{name}' is {given[name]!r}, the template sets {expected!r}")
        elif field["type"] == "Dropdown" and given[name] not in (
                choices := [choice["value"] for choice in field["choices"]]):
            problems.append(f"input '{name}' is {given[name]!r}, not one of {choices}")
        elif field.get("constraints", {}).get("notEmpty") and not given[name]:
            problems.append(f"input '{name}' is empty")
    extra = sorted(set(given) - {field["binding"].get("name") for field in template["properties"]})
    if extra:
        problems.append(f"input parameter(s) {extra} that the template does not have")
    return problems


def misfits(path: Path, templates: list[dict]) -> list[str]:
    """External tasks in a BPMN file that no worker serves or that fit none of their templates."""
    by_topic: dict[str, list[dict]] = {}
    for template in templates:
        topic = next(field["value"] for field in template["properties"]
                     if field["binding"] == {"type": "property", "name": "camunda:topic"})
        by_topic.setdefault(topic, []).append(template)
    lines = []
    for element in ElementTree.parse(path).getroot().iter():
        if element.get(f"{CAMUNDA_NAMESPACE}type") != "external":
            continue
        topic = element.get(f"{CAMUNDA_NAMESPACE}topic")
        where = f"{path.name} {element.get('id')} (topic {topic})"
        candidates = by_topic.get(topic, [])
        problems = [template_misfit(element, template) for template in candidates]
        if not candidates:
            lines.append(f"{where}: no worker serves this topic")
        elif all(problems):
            lines.append(f"{where}: fits no element template: " + " | ".join(
                f"{template['name']}: {'; '.join(found)}"
                for template, found in zip(candidates, problems)))
    return lines


def templates_json(templates: list[dict]) -> str:
    return json.dumps(templates, ensure_ascii=False, indent=2) + "\n"


def write_templates(path: Path = TEMPLATES_FILE) -> bool:
    """Write the file; True when its content changed."""
    text = templates_json(element_templates())
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True
