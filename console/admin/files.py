"""The files admins edit in the console: where each lives, how a new version is checked (with
the loaders the workers use, so the console accepts exactly what the workers can read), what
its preview shows, and what a save sets off (the directory is synced into the engine, the
time-limit table deployed).

A save writes the file in place (atomically); the workers re-read a file when its time stamp
changes, so a change applies to the next task without a restart.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import tempfile
import threading
import typing
from pathlib import Path

from marshmallow import Schema, fields, validate

from admin_data.assessment import RiskWordsSchema, load_assessment_config
from admin_data.directory import Directory, DirectoryError, DirectorySchema, load_directory
from admin_data.duty_roster import RosterSchema, load_roster
from admin_data.environment import Settings
from admin_data.gazetteer import GazetteerSchema, load_gazetteer
from admin_data.hotline import HotlineSettingsSchema, load_hotline_settings
from admin_data.loader import AdminDataError, ConfigFileError
from admin_data.notifications import TemplatesSchema
from admin_data.scope_rules import EMERGENCY, EXCLUDED, ScopeRulesSchema, load_scope_rules
from admin_data.taxonomy import TaxonomySchema, load_taxonomy
from admin_data.workdays import (SHANGHAI, CalendarDataMissing, HolidayFileSchema,
                                 WorkdayCalendar, load_overrides)
from connectors.config import load_config
from console.admin import dmn_table
from console.admin.roster_editor import roster_preview
from console.admin.store import AdminStore
from console.admin.template_editor import template_preview
from deploy.deployment import DEPLOYMENT_NAME, DeploymentRefused, deploy
from deploy.directory_sync import DirectorySync
from external_tasks.camunda import EngineClient, EngineError
from external_tasks.deadlines import TimeLimits, compute_deadlines, evaluate_time_limits
from external_tasks.risk_alert import risk_words_in
from external_tasks.routing import propose_route
from external_tasks.runtime import IncidentError
from external_tasks.scope_check import IN_SCOPE, check_appeal

#: What the loaders raise for a file that is not valid (each message names entry and field).
INVALID = (ConfigFileError, dmn_table.TableError)


class Refused(Exception):
    """A save or restore that did not happen; the message says why (in Chinese)."""


class ChangedMeanwhile(Refused):
    """Someone else saved the file after this admin opened it: `theirs` is what it holds now."""

    def __init__(self, theirs: bytes):
        super().__init__("文件在您编辑期间已被他人保存, 您的修改尚未保存。下面「改动」列出对方保存的内容与"
                         "您的修改之间的差别: 核对后再点一次「保存」即以您的内容为准, 也可先把对方的改动"
                         "并入本页。")
        self.theirs = theirs


Rows = list[tuple[str, str, str]]  # what, as it is now, as it would be after the change


@dataclasses.dataclass(frozen=True)
class EditableFile:
    name: str
    title: str
    description: str
    path: typing.Callable[[Settings], Path]
    #: (candidate file, settings) → the loaded data; raises one of INVALID.
    load: typing.Callable[[Path, Settings], typing.Any]
    #: The fields of the sample appeal the preview asks for.
    sample: dict[str, fields.Field] = dataclasses.field(default_factory=dict)
    #: (current data or None, new data, sample, settings) → rows of the preview.
    preview: typing.Callable[[typing.Any, typing.Any, dict, Settings], Rows] | None = None
    #: (new data, settings) → a note for the admin; raises Refused to undo the save.
    after_save: typing.Callable[[typing.Any, Settings], str] | None = None
    #: settings → the file's schema (admin_data's own): the structured editor's fields; None:
    #: the file is edited as YAML only.
    schema: typing.Callable[[Settings], Schema] | None = None
    #: (loaded data, the request's arguments) → what the editor shows above the form.
    overview: typing.Callable[[typing.Any, typing.Mapping[str, str]], dict] | None = None

    def check(self, content: bytes, settings: Settings):
        """The loaded data of `content`, or Refused naming each bad entry."""
        with tempfile.TemporaryDirectory() as folder:
            candidate = Path(folder) / self.path(settings).name
            candidate.write_bytes(content)
            try:
                return self.load(candidate, settings)
            except INVALID as exc:
                raise Refused(str(exc).replace(str(candidate), candidate.name)) from None

    def current(self, settings: Settings):
        """The file's data as the workers read it now; None while the file is not valid."""
        try:
            return self.load(self.path(settings), settings)
        except (*INVALID, OSError):
            return None


def _config(filename: str) -> typing.Callable[[Settings], Path]:
    return lambda settings: settings.config_dir / filename


def _directory(settings: Settings) -> Directory:
    return load_directory(settings.config_dir / "directory.yaml")


# -- checks that reach beyond one file ----------------------------------------------------------

#: Files whose entries name units or leaders of the directory.
DIRECTORY_DEPENDENTS = {
    "taxonomy.yaml": load_taxonomy, "gazetteer.yaml": load_gazetteer, "duty_roster.yaml": load_roster,
    "notifications.yaml": lambda path, directory: load_config(path, env={}, directory=directory)}


def _load_directory(path: Path, settings: Settings) -> Directory:
    """A directory that leaves every file naming its units valid (a unit still routed to or a
    leader still on the roster cannot be removed)."""
    directory = load_directory(path)
    for filename, load in DIRECTORY_DEPENDENTS.items():
        try:
            load(settings.config_dir / filename, directory)
        except INVALID as exc:
            raise DirectoryError(f"改动后 {filename} 将不再有效, 请先修改它 (the change would make "
                                 f"{filename} invalid):\n{exc}") from None
    return directory


def _sync_directory(directory: Directory, settings: Settings) -> str:
    try:
        report = DirectorySync(EngineClient.as_admin(settings), settings).run(directory)
    except EngineError as exc:
        return (f"; 已保存, 但同步到流程引擎失败, 请稍后运行 suban sync-directory "
                f"(engine sync failed): {exc}")
    return f"; 已同步到流程引擎: {len(report.changes)} 处变化"


def _load_time_limits(path: Path, settings: Settings) -> bytes:
    content = path.read_bytes()
    dmn_table.check(dmn_table.parse(content)[1])
    return content


def _deploy_time_limits(content: bytes, settings: Settings) -> str:
    """Deploy the saved table under the models' deployment name, as `suban deploy` would: new
    appeals get the new version, running ones keep the deadlines they were given."""
    path = TIME_LIMITS.path(settings)
    try:
        result = deploy(EngineClient.as_admin(settings), [path], settings.models_dir, name=DEPLOYMENT_NAME)
    except (DeploymentRefused, EngineError) as exc:
        raise Refused(f"流程引擎未接受新的办理时限表, 文件已恢复原样 (not deployed): {exc}") from None
    return f"; 已部署 (deployment {result.deployment_id})"


def preview_deadlines(settings: Settings, table: dmn_table.Table, sample: dict) -> Rows:
    """The deadlines a sample appeal gets from the deployed table (evaluated by the engine, as
    the compute-deadlines worker does) and from the edited one, on today's working-day calendar."""
    received = sample["receivedAt"] or dt.datetime.now(SHANGHAI)
    inputs = {name: sample[name] for name in ("kind", "urgency", "difficulty")}

    def deadlines(limits: typing.Callable[[], TimeLimits]) -> list[str]:
        try:
            calendar = WorkdayCalendar.from_file(settings.config_dir / "holidays.yaml")
            found = compute_deadlines(limits(), received, calendar)
        except (IncidentError, EngineError, AdminDataError, ValueError) as exc:
            return [str(exc)] * 4
        return [found.limits.describe()] + [f"{getattr(found, name):%Y-%m-%d %H:%M}"
                                            for name in ("sign_for", "feedback", "completion")]
    deployed = deadlines(lambda: evaluate_time_limits(EngineClient.as_admin(settings), **inputs))
    edited = deadlines(lambda: dmn_table.limits_for(table, inputs))
    labels = ("时限", "签收期限", "首次反馈期限", "办结期限")
    return list(zip(labels, deployed, edited))


# -- previews ------------------------------------------------------------------------------------

def _routing_rows(sample: dict, settings: Settings, before: tuple, after: tuple) -> Rows:
    """Where the sample appeal goes with the (taxonomy, gazetteer) `before` and `after`."""
    directory = _directory(settings)
    units = {unit.id: unit.name for unit in directory.units}

    def describe(taxonomy, gazetteer) -> list[str]:
        if taxonomy is None or gazetteer is None:
            return ["（现行文件无效）"] * 4
        proposal = propose_route(sample["categoryCode"], sample["township"] or None,
                                 sample["address"], None, sample["content"], taxonomy=taxonomy,
                                 gazetteer=gazetteer, directory=directory)
        return [units.get(proposal.lead_unit, proposal.lead_unit or "（待人工确定）"),
                "、".join(units.get(unit, unit) for unit in proposal.co_units) or "无",
                "是" if proposal.auto_dispatch else "否（人工派单）", proposal.note]
    labels = ("这条诉求的牵头单位", "配合单位", "自动派单", "派单说明")
    return list(zip(labels, describe(*before), describe(*after)))


def _taxonomy_preview(current, new, sample: dict, settings: Settings) -> Rows:
    gazetteer = GAZETTEER.current(settings)
    return _routing_rows(sample, settings, (current, gazetteer), (new, gazetteer))


def _gazetteer_preview(current, new, sample: dict, settings: Settings) -> Rows:
    taxonomy = TAXONOMY.current(settings)
    return _routing_rows(sample, settings, (taxonomy, current), (taxonomy, new))


ROUTING_SAMPLE = {
    "categoryCode": fields.String(metadata={"label": "诉求分类编码"},
                                  load_default="construction.propertyService"),
    "township": fields.String(load_default="", metadata={"label": "登记的乡镇 (单位编号, 可空)"}),
    "address": fields.String(load_default="凤城街道", metadata={"label": "地址"}),
    "content": fields.String(load_default="", metadata={"label": "诉求内容"}),
}


def _holiday_preview(current, new, sample: dict, settings: Settings) -> Rows:
    received = dt.datetime.combine(sample["receivedOn"], dt.time(9), SHANGHAI)
    count = sample["workingDays"]

    def deadline(overrides) -> str:
        if overrides is None:
            return "（现行文件无效）"
        try:
            return WorkdayCalendar(overrides).end_of_working_days(received, count).strftime(
                "%Y-%m-%d %H:%M")
        except CalendarDataMissing as exc:
            return str(exc)
    return [(f"{received:%Y-%m-%d} 受理, 第 {count} 个工作日届满", deadline(current),
             deadline(new))]


@dataclasses.dataclass(frozen=True)
class CalendarDay:
    day: dt.date
    status: str  # work, rest, holiday (a weekday off), makeup (a weekend worked), unknown

    @property
    def title(self) -> str:
        return {"work": "工作日", "rest": "休息日", "holiday": "放假", "makeup": "调休上班",
                "unknown": "无数据"}[self.status]


def year_calendar(calendar: WorkdayCalendar, year: int) -> list[list[list[CalendarDay | None]]]:
    """The year as 12 months of weeks (Monday first; None pads a week), each day marked."""
    months = []
    for month in range(1, 13):
        first = dt.date(year, month, 1)
        days: list[CalendarDay | None] = [None] * first.weekday()
        day = first
        while day.month == month:
            weekend = day.weekday() >= 5
            try:
                working = calendar.is_working_day(day)
                status = ("makeup" if weekend else "work") if working else (
                    "rest" if weekend else "holiday")
            except CalendarDataMissing:
                status = "unknown"
            days.append(CalendarDay(day, status))
            day += dt.timedelta(days=1)
        days += [None] * (-len(days) % 7)
        months.append([days[start:start + 7] for start in range(0, len(days), 7)])
    return months


def _holiday_overview(overrides, values: typing.Mapping[str, str]) -> dict:
    """The year the admin looks at (`year`; default: next year) as a calendar."""
    text = values.get("year", "")
    year = int(text) if text.isdigit() and 2004 <= int(text) <= 2100 else dt.date.today().year + 1
    calendar = WorkdayCalendar(overrides)
    return {"year": year, "covered": calendar.covers(year), "months": year_calendar(calendar, year),
            "source": ("管理员录入" if year in overrides.years else
                       "chinesecalendar 软件包" if calendar.covers(year) else "")}


def _risk_preview(current, new, sample: dict, settings: Settings) -> Rows:
    def found(config) -> str:
        if config is None:
            return "（现行文件无效）"
        return "、".join(risk_words_in([sample["text"]], config.major_risk_words)) or "无"
    return [("命中的重大风险词", found(current), found(new))]


def _directory_preview(current, new, sample: dict, settings: Settings) -> Rows:
    def names(directory) -> dict[str, str]:
        if directory is None:
            return {}
        return {entry.id: entry.name for entry in directory.units + directory.leaders}
    before, after = names(current), names(new)
    added = [f"{after[key]} ({key})" for key in after if key not in before]
    removed = [f"{before[key]} ({key})" for key in before if key not in after]
    renamed = [f"{key}: {before[key]} → {after[key]}" for key in after
               if key in before and before[key] != after[key]]
    return [("单位与县领导", f"{len(before)} 个", f"{len(after)} 个"),
            ("新增", "", "、".join(added) or "无"),
            ("删除 (引擎中的组和账号保留, 不再派单)", "、".join(removed) or "无", ""),
            ("改名", "", "；".join(renamed) or "无")]


def _scope_preview(current, new, sample: dict, settings: Settings) -> Rows:
    """The scope check of the sample text with the rules now and after the change."""
    def checked(rules) -> list[str]:
        if rules is None:
            return ["（现行文件无效）"] * 3
        found = check_appeal(sample["title"], sample["content"], sample["kind"], rules)
        variables = found.to_variables()
        flag = {IN_SCOPE: "正常受理", EMERGENCY: "紧急事项, 转人工复核",
                EXCLUDED: "不予受理事项, 转人工复核"}[found.flag]
        names = "、".join(finding.matter.name for finding in found.findings) or "无"
        return [flag, names, f"{variables['scopeReason']} / {variables.get('scopeReferral') or '—'}"]
    labels = ("受理范围检查结果", "命中的事项", "原因 / 建议的办理途径")
    return list(zip(labels, checked(current), checked(new)))


def _settings_preview(current, new, sample: dict, settings: Settings) -> Rows:
    """Each setting whose value changes, by its label."""
    def flat(data, prefix=()) -> dict[tuple, typing.Any]:
        if not isinstance(data, dict):
            return {prefix: data}
        return {key: value for step, nested in data.items()
                for key, value in flat(nested, prefix + (step,)).items()}
    before, after = flat(current or {}), flat(new)
    labels = _labels(HotlineSettingsSchema())
    return [(labels.get(key, ".".join(map(str, key))), str(before.get(key, "")), str(value))
            for key, value in after.items() if before.get(key) != value] or [
        ("设置", "", "（没有改动）")]


def _labels(schema: Schema, prefix: tuple = (), names: tuple = ()) -> dict[tuple, str]:
    """Every setting's path → its label with the group's ("回访 · 回访最多尝试次数")."""
    found = {}
    for name, field in schema.fields.items():
        path, label = prefix + (field.data_key or name,), names + (field.metadata.get("label", name),)
        if isinstance(field, fields.Nested):
            found |= _labels(field.schema, path, label)
        elif isinstance(field, fields.Dict):
            found |= {path + (key,): " · ".join(label + (text,))
                      for key, text in field.metadata.get("keys", {}).items()}
        else:
            found[path] = " · ".join(label)
    return found


SCOPE_SAMPLE = {
    "title": fields.String(load_default="", metadata={"label": "标题"}),
    "content": fields.String(load_default="我已申请劳动仲裁三个月了, 仲裁委迟迟不开庭",
                             metadata={"label": "诉求内容"}),
    "kind": fields.String(load_default="complaint", metadata={"label": "诉求类型 (英文编码)"}),
}


# -- the files -----------------------------------------------------------------------------------

DIRECTORY = EditableFile(
    "directory", "单位目录与账号", "单位 (引擎中的组) 及其演示账号、县领导。保存后同步到流程引擎的组和用户。",
    _config("directory.yaml"), _load_directory, preview=_directory_preview,
    after_save=_sync_directory, schema=lambda settings: DirectorySchema())
TAXONOMY = EditableFile(
    "taxonomy", "诉求分类与派单表", "每个二级分类的主管部门、属地或属事牵头、配合单位、是否自动派单、难易程度。",
    _config("taxonomy.yaml"), lambda path, settings: load_taxonomy(path, _directory(settings)),
    sample=ROUTING_SAMPLE, preview=_taxonomy_preview,
    schema=lambda settings: TaxonomySchema(_directory(settings)))
GAZETTEER = EditableFile(
    "gazetteer", "地名表 (属地判断)", "乡镇 (街道) 的名称和下辖村 (社区) 名, 派单时据此从地址判断属地。",
    _config("gazetteer.yaml"), lambda path, settings: load_gazetteer(path, _directory(settings)),
    sample=ROUTING_SAMPLE, preview=_gazetteer_preview,
    schema=lambda settings: GazetteerSchema(_directory(settings)))
HOLIDAYS = EditableFile(
    "holidays", "节假日与调休", "国务院办公厅公布次年放假安排后, 按通知原文录入该年的放假日期和调休上班日, "
    "核对日历后保存; 个别日期可单独更正。",
    _config("holidays.yaml"), lambda path, settings: load_overrides(path),
    sample={"receivedOn": fields.Date(load_default=lambda: dt.date.today(),
                                      metadata={"label": "受理日期"}),
            "workingDays": fields.Integer(load_default=10, validate=validate.Range(min=1, max=60),
                                          metadata={"label": "工作日数"})},
    preview=_holiday_preview, schema=lambda settings: HolidayFileSchema(),
    overview=_holiday_overview)
DUTY_ROSTER = EditableFile(
    "duty_roster", "领导坐班表", "县四套班子领导接听热线的日期和时段。",
    _config("duty_roster.yaml"), lambda path, settings: load_roster(path, _directory(settings)),
    sample={"moment": fields.NaiveDateTime(load_default=lambda: dt.datetime.now().replace(
        second=0, microsecond=0), metadata={"label": "时刻 (查谁在坐班)"})},
    preview=roster_preview, schema=lambda settings: RosterSchema(_directory(settings)))
NOTIFICATIONS = EditableFile(
    "notifications", "消息模板与联系渠道", "短信、邮件和机器人消息的模板: 发送对象与渠道、主题和正文; "
    "正文中的占位符从列表中点选, 右侧按样例诉求即时显示生成的消息 (来电人已脱敏), 短信另计字数和条数。"
    "各单位和县领导的联系渠道、短信平台和邮件服务器的设置在下方 YAML 原文中修改 (专家)。",
    _config("notifications.yaml"),
    lambda path, settings: load_config(path, env={}, directory=_directory(settings)),
    preview=template_preview, schema=lambda settings: TemplatesSchema())
RISK_WORDS = EditableFile(
    "assessment", "重大风险词与考核设置", "诉求含重大风险词时立即提醒热线中心和当日坐班的县领导。"
    "预览按样例诉求运行风险词检查。考核权重和研判参数在下方 YAML 原文中修改 (专家)。",
    _config("assessment.yaml"), lambda path, settings: load_assessment_config(path),
    sample={"text": fields.String(load_default="小区门口有人聚集堵路", metadata={"label": "诉求内容"})},
    preview=_risk_preview, schema=lambda settings: RiskWordsSchema())
TIME_LIMITS = EditableFile(
    "time_limits", "办理时限表", "决策表 time_limits: 按诉求类型、紧急程度、难易程度确定签收、反馈、办结时限。"
    "保存即部署新版本: 新工单按新时限, 在办工单保留原时限。",
    lambda settings: settings.models_dir / "bpmn" / "time_limits.dmn", _load_time_limits,
    after_save=_deploy_time_limits)

HOTLINE = EditableFile(
    "hotline", "热线设置", "回访次数与间隔、延期上限、各级督办的答复时限、重复件认定期、节假日数据提醒日、到期提醒时刻、每日任务时刻、分类建议模型重训间隔。",
    _config("hotline.yaml"), lambda path, settings: load_hotline_settings(path),
    preview=_settings_preview, schema=lambda settings: HotlineSettingsSchema())
SCOPE_RULES = EditableFile(
    "scope_rules", "受理范围规则", "紧急事项 (转接 110/119/120/122) 与不予受理事项: 命中短语、告知来电人的原因和去向。",
    _config("scope_rules.yaml"), lambda path, settings: load_scope_rules(path),
    sample=SCOPE_SAMPLE, preview=_scope_preview, schema=lambda settings: ScopeRulesSchema())

FILES = {admin_file.name: admin_file for admin_file in (
    DIRECTORY, TAXONOMY, GAZETTEER, TIME_LIMITS, HOLIDAYS, DUTY_ROSTER, NOTIFICATIONS, RISK_WORDS,
    HOTLINE, SCOPE_RULES)}


# -- saving --------------------------------------------------------------------------------------

_saving = threading.Lock()  # one save at a time: the base check and the write go together


def fingerprint(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _write(path: Path, content: bytes) -> None:
    """Replace the file at once: a worker never reads half a file."""
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as out:
        out.write(content)
    os.replace(out.name, path)


def save(admin_file: EditableFile, content: bytes, *, settings: Settings, store: AdminStore,
         user: str, reason: str, base: str | None, action: str = "保存") -> tuple[int, str]:
    """Check, write, apply and keep as a new version; returns (version id, note).

    `base` is the fingerprint of the file the admin started from: a file someone else saved in
    the meantime is not overwritten. Nothing is written when any check fails, and the file is
    put back when applying it (deployment) fails.
    """
    loaded = admin_file.check(content, settings)
    path = admin_file.path(settings)
    with _saving:
        previous = path.read_bytes()
        if base is not None and fingerprint(previous) != base:
            raise ChangedMeanwhile(previous)
        if previous == content:
            raise Refused("内容没有变化, 无需保存 (nothing changed)")
        _write(path, content)
        try:
            note = admin_file.after_save(loaded, settings) if admin_file.after_save else ""
        except Refused:
            _write(path, previous)
            raise
        version = store.save_version(admin_file.name, previous, content, user, reason)
    store.record(user, action, admin_file.name, reason, f"版本 {version}{note}")
    return version, note
