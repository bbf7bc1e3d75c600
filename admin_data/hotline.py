"""The hotline centre's settings file (hotline.yaml): callback tries, extension limits,
supervision response periods, the repeated-appeal window, the calendar warning, the times of the
units' deadline reminders and of the daily processes, validated as one schema."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from marshmallow import Schema, ValidationError, fields, validate, validates

from admin_data.loader import AdminFile, ConfigFileError, load_admin_file
SUPERVISION_LEVELS = (1, 2, 3)


def _working_days(maximum: int, label: str = "") -> fields.Integer:
    return fields.Integer(required=True, validate=validate.Range(
        min=1, max=maximum, error=f"应为 1 到 {maximum} 个工作日"),
        metadata={"label": label, "unit": "个工作日"})


class CallbackSchema(Schema):
    max_attempts = fields.Integer(required=True, validate=validate.Range(
        min=1, max=10, error="应为 1 到 10 次"), metadata={
        "label": "回访最多尝试次数", "unit": "次", "help": "均未联系上来电人时, 工单按「未回访」办结"})
    retry_interval = fields.String(required=True, validate=validate.Regexp(
        r"^P(T(\d+H)?(\d+M)?|\d+D)$", error="应为 ISO 8601 时长, 如 PT4H (4 小时) 或 P1D (1 天)"),
        metadata={"label": "两次回访间隔", "help": "PT4H 表示 4 小时, PT30M 表示 30 分钟, P1D 表示 1 天"})


class ExtensionSchema(Schema):
    max_working_days = _working_days(30, "每次延期最多")
    max_requests = fields.Integer(required=True, validate=validate.Range(
        min=1, max=5, error="应为 1 到 5 次"), metadata={"label": "每件最多申请延期", "unit": "次"})


class SupervisionSchema(Schema):
    response_working_days = fields.Dict(
        keys=fields.Integer(), values=_working_days(15), required=True, metadata={
            "label": "督办单答复时限", "keys": {1: "一级督办 (热线中心)", 2: "二级督办 (县督查考核办)",
                                           3: "三级督办 (县领导)"}})

    @validates("response_working_days")
    def every_level(self, value: dict, **_) -> None:
        if sorted(value) != list(SUPERVISION_LEVELS):
            raise ValidationError("应为一级、二级、三级督办各给出天数, 如 {1: 2, 2: 2, 3: 3}")


class RepeatSchema(Schema):
    window_days = fields.Integer(required=True, validate=validate.Range(
        min=1, max=365, error="应为 1 到 365 天"), metadata={
        "label": "重复件认定期", "unit": "天", "help": "同一号码在此期间内再次来电反映, 记为重复件 (重要件)"})


class CalendarSchema(Schema):
    warn_from = fields.String(load_default="11-01", validate=validate.Regexp(
        r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$", error="应写成 月-日, 如 11-01"),
        metadata={"label": "从每年几月几日起提醒补充次年节假日", "unit": "月-日"})

    @validates("warn_from")
    def a_real_day(self, value: str, **_) -> None:
        month, day = map(int, value.split("-"))
        if day > (28 if month == 2 else 30 if month in (4, 6, 9, 11) else 31):
            raise ValidationError(f"{value} 不是有效的日期")


def _time_of_day(label: str, default: str, help_text: str) -> fields.String:
    return fields.String(load_default=default, validate=validate.Regexp(
        r"^([01]\d|2[0-3]):[0-5]\d$", error="应写成 时:分 (24 小时制), 如 09:00"),
        metadata={"label": label, "unit": "时:分", "help": help_text})


class RemindersSchema(Schema):
    working_day_time = _time_of_day(
        "按工作日计的时限: 当天几点提醒", "09:00", "时限最后一个工作日的这个时刻提醒承办单位")
    single_day_time = _time_of_day(
        "时限仅 1 个工作日时: 当天几点提醒", "14:00", "单位当天上午才开始办理, 提醒放在当天下午")
    hours_share_percent = fields.Integer(load_default=75, validate=validate.Range(
        min=10, max=95, error="应为 10 到 95 (%)"), metadata={
        "label": "按小时计的时限: 用去多少时提醒", "unit": "%",
        "help": "75 表示时限过去 75% 时提醒 (24 小时时限 → 18 小时后)"})


class DailySchema(Schema):
    calendar_check = _time_of_day(
        "每天几点检查节假日数据", "08:30", "缺次年节假日数据时, 在此时刻提醒热线中心")
    duty_digest = _time_of_day(
        "每天几点发送领导接听件日报", "10:30", "应在领导坐班结束之后")
    knowledge_expiry = _time_of_day(
        "每天几点提醒知识条目即将到期", "08:00", "30 天内到期的知识条目, 在此时刻通知所属单位")
    suggester_retrain = _time_of_day(
        "每天几点检查分类建议模型是否该重训", "02:30", "宜在夜间: 训练要占用几十秒的计算")


class SuggesterSchema(Schema):
    retrain_every_days = fields.Integer(load_default=7, validate=validate.Range(
        min=1, max=90, error="应为 1 到 90 天"), metadata={
        "label": "每隔几天重训一次分类建议模型", "unit": "天",
        "help": "每天按每日任务时刻检查, 距上次训练满这么多天就用已办结诉求重新训练; 训练失败时继续用原模型"})


class HotlineSettingsSchema(Schema):
    callback = fields.Nested(CallbackSchema, required=True, metadata={"label": "回访"})
    extension = fields.Nested(ExtensionSchema, required=True, metadata={"label": "延期"})
    supervision = fields.Nested(SupervisionSchema, required=True, metadata={"label": "督办"})
    repeat = fields.Nested(RepeatSchema, required=True, metadata={"label": "重复件"})
    # A file written before the setting existed keeps working with the usual date.
    calendar = fields.Nested(CalendarSchema, load_default=lambda: CalendarSchema().load({}),
                             metadata={"label": "节假日数据提醒"})
    reminders = fields.Nested(RemindersSchema, load_default=lambda: RemindersSchema().load({}),
                              metadata={"label": "到期提醒"})
    daily = fields.Nested(DailySchema, load_default=lambda: DailySchema().load({}),
                          metadata={"label": "每日任务时刻"})
    suggester = fields.Nested(SuggesterSchema, load_default=lambda: SuggesterSchema().load({}),
                              metadata={"label": "分类建议"})


class HotlineSettingsError(ConfigFileError):
    """hotline.yaml is not valid."""


def calendar_warning_starts(settings: dict, year: int) -> dt.date:
    """The day of `year` from which the console warns that next year's calendar is missing."""
    month, day = map(int, settings["calendar"]["warn_from"].split("-"))
    return dt.date(year, month, day)


def load_hotline_settings(path: Path | None = None) -> dict:
    return load_admin_file(path or HOTLINE.path(), HotlineSettingsSchema(), HotlineSettingsError)


HOTLINE = AdminFile("hotline.yaml", load_hotline_settings)
