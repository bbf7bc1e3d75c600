"""Working-day calendar and deadline arithmetic, without the engine."""
import datetime as dt

import pytest

from external_tasks.deadlines import (TimeLimits, compute_deadlines, deadlines_for_appeal,
                                      extended_deadline, parse_time)
from external_tasks.runtime import IncidentError
from admin_data.workdays import (HOLIDAYS, SHANGHAI, CalendarDataMissing,
                                     HolidayFileError, HolidayOverrides, WorkdayCalendar,
                                     load_overrides)

PACKAGE_ONLY = WorkdayCalendar(HolidayOverrides.empty())
INQUIRY = TimeLimits("working_days", 1, 1, 3)
COMPLAINT = TimeLimits("working_days", 1, 3, 10)
URGENT = TimeLimits("hours", 0.5, 2, 24)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def calendar_from(tmp_path, text: str) -> WorkdayCalendar:
    path = tmp_path / "holidays.yaml"
    path.write_text(text, "utf-8")
    return WorkdayCalendar.from_file(path)


# -- the package's data and the counting rule ----------------------------------------------------

def test_national_day_2026_as_the_package_has_it():
    days = {dt.date(2026, 10, day): PACKAGE_ONLY.is_working_day(dt.date(2026, 10, day))
            for day in range(1, 13)}
    assert [day.day for day, working in days.items() if not working] == [1, 2, 3, 4, 5, 6, 7, 11]
    assert days[dt.date(2026, 10, 10)]  # Saturday, 调休 make-up working day


def test_three_working_days_from_september_30_end_on_the_make_up_saturday():
    deadlines = compute_deadlines(INQUIRY, "2026-09-30T10:00:00+08:00", PACKAGE_ONLY)
    assert deadlines.sign_for == at("2026-10-08T23:59:59+08:00")
    assert deadlines.completion == at("2026-10-10T23:59:59+08:00")
    assert deadlines.to_variables()["completionDeadline"] == "2026-10-10T23:59:59+08:00"
    assert deadlines.summary() == "签收1个工作日, 首次反馈1个工作日, 办结3个工作日, 自2026-10-08起算"


def test_counting_starts_the_day_after_receipt_whatever_the_hour():
    late = compute_deadlines(INQUIRY, "2026-09-30T23:59:00+08:00", PACKAGE_ONLY)
    assert late.completion == at("2026-10-10T23:59:59+08:00")


def test_receipt_day_is_taken_in_shanghai_time():
    # 16:30 UTC on 29 September is 00:30 on 30 September in Shanghai.
    deadlines = compute_deadlines(INQUIRY, "2026-09-29T16:30:00Z", PACKAGE_ONLY)
    assert deadlines.completion == at("2026-10-10T23:59:59+08:00")


def test_receipt_on_a_holiday_counts_from_the_next_working_day():
    deadlines = compute_deadlines(COMPLAINT, "2026-10-03T15:00:00+08:00", PACKAGE_ONLY)
    assert deadlines.sign_for == at("2026-10-08T23:59:59+08:00")
    assert deadlines.feedback == at("2026-10-10T23:59:59+08:00")
    # 8, 9, 10 (Sat), 12–16, 19, 20 October
    assert deadlines.completion == at("2026-10-20T23:59:59+08:00")


def test_past_receipt_over_spring_festival_counts_its_make_up_day():
    # Friday 13 Feb 2026; Saturday 14 Feb is a make-up working day, 15–23 Feb are off.
    deadlines = compute_deadlines(INQUIRY, "2026-02-13T17:00:00+08:00", PACKAGE_ONLY)
    assert deadlines.sign_for == at("2026-02-14T23:59:59+08:00")
    assert deadlines.completion == at("2026-02-25T23:59:59+08:00")


def test_reminders_on_working_day_clock():
    deadlines = compute_deadlines(COMPLAINT, "2026-09-30T10:00:00+08:00", PACKAGE_ONLY)
    variables = deadlines.to_variables()
    assert variables["signForReminderAt"] == "2026-10-08T14:00:00+08:00"  # single day: 14:00
    assert variables["feedbackReminderAt"] == "2026-10-10T09:00:00+08:00"
    assert variables["completionReminderAt"] == "2026-10-20T09:00:00+08:00"
    assert variables["deadlineClock"] == "working_days"


def test_urgent_case_received_on_a_holiday_runs_on_the_clock():
    deadlines = compute_deadlines(URGENT, "2026-10-03T10:15:30.700+08:00", PACKAGE_ONLY)
    assert deadlines.to_variables() == {
        "signForDeadline": "2026-10-03T10:45:30+08:00",
        "feedbackDeadline": "2026-10-03T12:15:30+08:00",
        "completionDeadline": "2026-10-04T10:15:30+08:00",
        "signForReminderAt": "2026-10-03T10:38:00+08:00",     # 75 % of 30 min
        "feedbackReminderAt": "2026-10-03T11:45:30+08:00",
        "completionReminderAt": "2026-10-04T04:15:30+08:00",
        "deadlineClock": "hours",
    }
    assert deadlines.summary().endswith("自2026-10-03 10:15起算, 7×24小时连续计时")


def test_hour_clock_needs_no_holiday_data():
    deadlines = compute_deadlines(URGENT, "2027-03-01T08:00:00+08:00", PACKAGE_ONLY)
    assert deadlines.completion == at("2027-03-02T08:00:00+08:00")


def test_a_past_receipt_time_gives_past_deadlines():
    deadlines = compute_deadlines(URGENT, dt.datetime(2024, 5, 1, 9, 0, tzinfo=SHANGHAI),
                                  PACKAGE_ONLY)
    assert deadlines.completion == at("2024-05-02T09:00:00+08:00")


# -- years without data --------------------------------------------------------------------------

def test_a_2027_receipt_is_refused_naming_the_year_and_the_file():
    with pytest.raises(CalendarDataMissing) as refused:
        compute_deadlines(COMPLAINT, "2027-01-04T09:00:00+08:00", PACKAGE_ONLY)
    assert refused.value.year == 2027
    assert "2027" in str(refused.value)
    assert "admin_data/files/holidays.yaml" in str(refused.value)
    assert "节假日与调休" in str(refused.value)


def test_a_deadline_running_into_2027_is_refused_too():
    with pytest.raises(CalendarDataMissing, match="2027"):
        compute_deadlines(COMPLAINT, "2026-12-28T09:00:00+08:00", PACKAGE_ONLY)


YEAR_2027 = """\
years:
  - year: 2027
    holidays:
      - {name: 元旦, date: 2027-01-01}
      - {name: 测试假期, from: 2027-01-06, to: 2027-01-07}
    workdays:
      - {name: 元旦调休, date: 2027-01-02}
"""


def test_an_override_year_makes_2027_computable_and_is_honoured(tmp_path):
    calendar = calendar_from(tmp_path, YEAR_2027)
    assert calendar.covers(2027)
    # Received Thursday 31 Dec 2026: 1 Jan off, Saturday 2 Jan worked, 4 and 5 Jan.
    deadlines = compute_deadlines(INQUIRY, "2026-12-31T11:00:00+08:00", calendar)
    assert deadlines.sign_for == at("2027-01-02T23:59:59+08:00")
    assert deadlines.completion == at("2027-01-05T23:59:59+08:00")
    # 6–7 Jan off, then 8, 11, 12 Jan.
    later = compute_deadlines(INQUIRY, "2027-01-05T09:00:00+08:00", calendar)
    assert later.completion == at("2027-01-12T23:59:59+08:00")


def test_an_override_year_replaces_the_package_data_for_that_year(tmp_path):
    calendar = calendar_from(tmp_path, "years:\n  - year: 2026\n    holidays:\n"
                                       "      - {name: 元旦, date: 2026-01-01}\n")
    assert calendar.is_working_day(dt.date(2026, 10, 1))
    assert not calendar.is_working_day(dt.date(2026, 10, 10))


def test_corrections_win_over_the_package(tmp_path):
    calendar = calendar_from(tmp_path, """\
corrections:
  holidays:
    - {name: 临时放假, date: 2026-10-08}
  workdays:
    - {name: 临时上班, date: 2026-10-11}
""")
    deadlines = compute_deadlines(INQUIRY, "2026-09-30T10:00:00+08:00", calendar)
    assert deadlines.sign_for == at("2026-10-09T23:59:59+08:00")
    assert deadlines.completion == at("2026-10-11T23:59:59+08:00")


def test_shipped_override_file_is_valid():
    overrides = load_overrides()
    assert overrides.source == HOLIDAYS.path()


def test_a_missing_override_file_means_package_data_only(tmp_path):
    calendar = WorkdayCalendar.from_file(tmp_path / "absent.yaml")
    assert not calendar.covers(2027)
    assert calendar.covers(2026)


# -- invalid override files ----------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    (YEAR_2027 + "      - {name: 冲突, date: 2027-01-07}\n",
     "years[0]（2027）.workdays[1]（冲突）: 2027-01-07 不能既是法定节假日又是调休上班日 "
     "(见 years[0].holidays[1]（测试假期）)"),
    (YEAR_2027.replace("2027-01-01}", "2027-13-01}"),
     "years[0]（2027）.holidays[0]（元旦）.date: '2027-13-01' 不是有效的日期"),
    (YEAR_2027.replace("from: 2027-01-06, to: 2027-01-07", "from: 2027-01-07, to: 2027-01-06"),
     "years[0]（2027）.holidays[1]（测试假期）.to: to (2027-01-06) 早于 from (2027-01-07)"),
    (YEAR_2027.replace("2027-01-01}", "2026-12-31}"),
     "years[0]（2027）.holidays[0]（元旦）.date: 2026-12-31 不在 2027 年内"),
    (YEAR_2027.replace("date: 2027-01-02}", "date: 2027-01-04}"),
     "years[0]（2027）.workdays[0]（元旦调休）.date: 2027-01-04 是周一, 调休上班日应为周六或周日"),
    (YEAR_2027.replace("{name: 元旦, date", "{date"),
     "years[0]（2027）.holidays[0].name: 缺少必填项"),
    (YEAR_2027.replace("{name: 元旦, date: 2027-01-01}", "{name: 元旦}"),
     "years[0]（2027）.holidays[0]（元旦）: 缺少 date, 或 from 与 to"),
    (YEAR_2027 + YEAR_2027.removeprefix("years:\n"),
     "years[1]（2027）.year: 2027 年与 years[0] 重复"),
    (YEAR_2027 + "corrections:\n  workdays:\n    - {name: 更正, date: 2027-01-01}\n",
     "corrections.workdays[0]（更正）: 2027-01-01 在 years[0].holidays[0]（元旦） 中是法定节假日"),
    ("years:\n  - year: 2027\n    holidays: []\n", "years[0]（2027）.holidays: 至少列出一个法定节假日"),
    ("years: [2027\n", "不是有效的 YAML"),
    ("- 2027\n", "顶层应为"),
])
def test_invalid_override_file_is_refused_naming_the_entry(tmp_path, text, expected):
    with pytest.raises(HolidayFileError) as refused:
        calendar_from(tmp_path, text)
    assert expected in str(refused.value)
    assert "holidays.yaml" in str(refused.value)


# -- extension, limits and inputs ------------------------------------------------------------------

def test_extension_adds_working_days_after_the_deadline_day():
    extended = extended_deadline("2026-10-10T23:59:59+08:00", 10, PACKAGE_ONLY)
    assert extended == at("2026-10-23T23:59:59+08:00")
    over_holiday = extended_deadline(at("2026-09-30T23:59:59+08:00"), 2, PACKAGE_ONLY)
    assert over_holiday == at("2026-10-09T23:59:59+08:00")


@pytest.mark.parametrize("working_days", [0, -1, 1.5, True])
def test_extension_needs_a_positive_whole_number(working_days):
    with pytest.raises(ValueError, match="working_days"):
        extended_deadline("2026-10-10T23:59:59+08:00", working_days, PACKAGE_ONLY)


def test_extension_into_a_year_without_data_is_refused():
    with pytest.raises(CalendarDataMissing, match="2027"):
        extended_deadline("2026-12-30T23:59:59+08:00", 5, PACKAGE_ONLY)


@pytest.mark.parametrize("limits, expected", [
    (("working_days", 1, 3.5, 10), "feedback: 3.5 个工作日不是整数"),
    (("working_days", 1, 12, 10), "feedback (12) 长于办结时限 completion (10)"),
    (("hours", 0, 2, 24), "sign_for: 0 不是正数"),
    (("days", 1, 3, 10), "clock: 'days' 不是有效的计时方式"),
])
def test_inconsistent_limits_are_refused(limits, expected):
    with pytest.raises(ValueError) as refused:
        TimeLimits(*limits)
    assert expected in str(refused.value)


def test_limits_from_the_decision_outputs():
    limits = TimeLimits.from_decision({"clock": "working_days", "signFor": 1.0, "feedback": 3.0,
                                       "completion": 15.0})
    assert limits == TimeLimits("working_days", 1, 3, 15)
    assert isinstance(limits.completion, int)
    with pytest.raises(ValueError, match="completion"):
        TimeLimits.from_decision({"clock": "hours", "signFor": 0.5, "feedback": 2.0})


@pytest.mark.parametrize("value, expected", [
    ("2026-10-08T09:30:00", "receivedAt: '2026-10-08T09:30:00' 缺少时区偏移"),
    ("下午三点", "receivedAt: '下午三点' 不是 ISO 8601 时间"),
    (20261008, "receivedAt: 应为 ISO 8601 时间字符串或日期时间, 而不是 int"),
])
def test_bad_receipt_times_are_named(value, expected):
    with pytest.raises(ValueError) as refused:
        parse_time(value, "receivedAt")
    assert expected in str(refused.value)


@pytest.mark.parametrize("variables, expected", [
    ({"kind": "praise"}, "kind: 'praise' 无效, 应为 inquiry (咨询), help (求助)"),
    ({"kind": None}, "kind: 缺少取值"),
    ({"urgency": "very"}, "urgency: 'very' 无效"),
    ({"difficulty": "hard"}, "difficulty: 'hard' 无效"),
    ({"receivedAt": "2026-10-08 09:30"}, "receivedAt: '2026-10-08 09:30' 缺少时区偏移"),
    ({"deadlineBasisAt": "明天"}, "deadlineBasisAt: '明天' 不是 ISO 8601 时间"),
])
def test_worker_turns_bad_variables_into_an_incident_before_asking_the_engine(variables,
                                                                             expected):
    given = {"kind": "complaint", "receivedAt": "2026-10-08T09:30:00+08:00"} | variables
    with pytest.raises(IncidentError) as refused:
        deadlines_for_appeal(engine=None, **given)
    assert expected in str(refused.value)
