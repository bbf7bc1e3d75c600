"""Every value an admin may tune is admin data, never a literal in our BPMN: a timer or a
condition (or an input parameter) holding a literal duration, time or count fails this test
unless it is one of the structural constants below, each with its reason."""
from __future__ import annotations

import datetime as dt
import re
import shutil
from xml.etree import ElementTree

import yaml

from admin_data.hotline import SUPERVISION_LEVELS, load_hotline_settings
from admin_data.loader import REPO_ROOT, SHIPPED_FILES
from admin_data.workdays import HolidayOverrides, WorkdayCalendar
from external_tasks.deadlines import TimeLimits, compute_deadlines

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
CAMUNDA = "{http://camunda.org/schema/1.0/bpmn}"
TIMERS = ("timeDuration", "timeDate", "timeCycle")

#: An ISO 8601 duration or date-time, a clock time, or a number not inside a name.
LITERAL = re.compile(r"P(?:\d+[YMWD])+(?:T(?:\d+[HMS])+)?|PT(?:\d+[HMS])+"
                     r"|\d{4}-\d{2}-\d{2}T[\d:]+(?:[+-]\d{2}:\d{2}|Z)?|\b\d{1,2}:\d{2}\b|(?<![\w.])\d+(?:\.\d+)?(?![\w.])")

#: (file, element id, literal) → why it is structure, not a setting.
STRUCTURAL = {
    ("hotline_duty_digest.bpmn", "Flow_DutyLeaders", "0"): "有坐班领导: 人数大于 0",
    ("hotline_unit_handling.bpmn", "Flow_HasCoUnits", "0"): "有协办单位: 个数大于 0",
    ("hotline_supervision.bpmn", "Flow_DeputiesInvited", "0"): "邀请了副职领导: 个数大于 0",
    **{("hotline_supervision.bpmn", flow, str(SUPERVISION_LEVELS[-1])):
       "督办分三级 (县方案: 热线中心、县督查考核办、县领导), 三级为最高级, 不是可调的数"
       for flow in ("Flow_EscalateOverdue", "Flow_ContinueSupervision",
                    "Flow_EscalateByVerdict")},
    **{(model, start, literal): "每日流程每天零点启动 (启动计时器的周期在部署时读取, 不能读设置); "
                                "做事的时刻是其后计时器等待的 runAt, 来自 hotline.yaml daily"
       for model, start in (("hotline_calendar_check.bpmn", "StartEvent_EveryMorning"),
                            ("hotline_duty_digest.bpmn", "StartEvent_DutySlotsOver"),
                            ("hotline_knowledge_expiry.bpmn", "StartEvent_EveryMorning"),
                            ("hotline_suggester_retrain.bpmn", "StartEvent_EveryMorning"))
       for literal in ("2026-01-01T00:00:00+08:00", "P1D")},
}


def literals_in_models(folder=REPO_ROOT / "bpmn") -> set[tuple[str, str, str]]:
    """(file, element id, literal) of every literal in a timer, a condition or an input
    parameter of the folder's models; element: the flow, event or task that holds it."""
    found = set()
    for path in sorted(folder.glob("*.bpmn")):
        root = ElementTree.parse(path).getroot()
        for element in root.iter():
            owner = element.get("id")
            if owner is None:
                continue
            texts = [child.text or "" for child in element
                     if child.tag == f"{BPMN}conditionExpression"]
            texts += [timer.text or "" for definition in element
                      if definition.tag == f"{BPMN}timerEventDefinition"
                      for timer in definition if timer.tag[len(BPMN):] in TIMERS]
            texts += [parameter.text or "" for extension in element
                      if extension.tag == f"{BPMN}extensionElements"
                      for parameter in extension.iter(f"{CAMUNDA}inputParameter")
                      if parameter.find("*") is None]
            for text in texts:
                found |= {(path.name, owner, literal) for literal in LITERAL.findall(text)}
    return found


def test_no_tunable_value_is_a_literal_in_a_bpmn_timer_or_condition():
    unexplained = literals_in_models() - set(STRUCTURAL)
    assert not unexplained, (
        "BPMN 中的时长/时间/次数应来自管理数据 (hotline.yaml、分类表、time_limits.dmn), 经 worker "
        f"设置的变量读取; 结构性常量请加入 STRUCTURAL 并写明理由: {sorted(unexplained)}")


def test_the_allow_lists_name_only_literals_that_are_there():
    """An allow-list entry whose literal is gone from the models is removed, not kept."""
    assert set(STRUCTURAL) <= literals_in_models()


def test_the_check_finds_a_literal_duration_count_and_time(tmp_path):
    """The check itself: a model with a literal timer, count and clock time is caught."""
    models = tmp_path / "bpmn"
    models.mkdir()
    (models / "probe.bpmn").write_text(f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="{BPMN[1:-1]}" xmlns:camunda="{CAMUNDA[1:-1]}" id="Probe">
  <bpmn:process id="probe" isExecutable="true">
    <bpmn:intermediateCatchEvent id="Event_Wait"><bpmn:timerEventDefinition>
      <bpmn:timeDuration>PT4H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="Flow_Tries" sourceRef="a" targetRef="b">
      <bpmn:conditionExpression>${{callbackAttempts &gt;= 3}}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:serviceTask id="Task_Remind"><bpmn:extensionElements><camunda:inputOutput>
      <camunda:inputParameter name="at">09:00</camunda:inputParameter>
    </camunda:inputOutput></bpmn:extensionElements></bpmn:serviceTask>
  </bpmn:process>
</bpmn:definitions>""", encoding="utf-8")
    assert literals_in_models(models) == {("probe.bpmn", "Event_Wait", "PT4H"),
                                    ("probe.bpmn", "Flow_Tries", "3"),
                                    ("probe.bpmn", "Task_Remind", "09:00")}


def test_the_shipped_settings_hold_what_the_models_read():
    """What the BPMN reads through worker-set variables is in hotline.yaml, with its default."""
    settings = load_hotline_settings()
    assert settings["callback"]["max_attempts"] >= 1 and settings["callback"]["retry_interval"]
    assert sorted(settings["supervision"]["response_working_days"]) == list(SUPERVISION_LEVELS)
    assert settings["reminders"] == {"working_day_time": "09:00", "single_day_time": "14:00",
                                     "hours_share_percent": 75}
    assert settings["daily"] == {"calendar_check": "08:30", "duty_digest": "10:30",
                                 "knowledge_expiry": "08:00", "suggester_retrain": "02:30"}


def test_reminder_times_come_from_the_hotline_settings(tmp_path, monkeypatch):
    """The reminder timers of the unit's process fire at the times hotline.yaml gives."""
    calendar = WorkdayCalendar(HolidayOverrides.empty())
    received = "2026-09-29T10:00:00+08:00"  # a Tuesday
    shipped = compute_deadlines(TimeLimits("working_days", 1, 1, 3), received, calendar)
    assert (shipped.sign_for_reminder.time(), shipped.completion_reminder.time()) == (
        dt.time(14), dt.time(9))
    folder = tmp_path / "config"
    shutil.copytree(SHIPPED_FILES, folder)
    settings = yaml.safe_load((folder / "hotline.yaml").read_text("utf-8"))
    settings["reminders"] = {"working_day_time": "08:15", "single_day_time": "15:30",
                             "hours_share_percent": 50}
    (folder / "hotline.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True), "utf-8")
    monkeypatch.setenv("SUBAN_CONFIG_DIR", str(folder))
    tuned = compute_deadlines(TimeLimits("working_days", 1, 1, 3), received, calendar)
    assert (tuned.sign_for_reminder.time(), tuned.completion_reminder.time()) == (
        dt.time(15, 30), dt.time(8, 15))
    hours = compute_deadlines(TimeLimits("hours", 0.5, 2, 24), received, calendar)
    assert hours.completion_reminder - hours.basis == dt.timedelta(hours=12)
