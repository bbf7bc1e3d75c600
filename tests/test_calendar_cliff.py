"""No calendar cliff: from `calendar.warn_from` (hotline.yaml) on, while next year's holidays are
missing, the console's home page, GET /api/v1/health, `suban status` and a daily message to the
hotline centre say from which day appeals stop; entering the year clears the warning. The clock
is set by each test (the console's SUBAN_TODAY, the check process's checkDay).

The real scenario is used: chinesecalendar 1.11.0 (the locked version) covers 2026, not 2027,
and the stack's time-limit table counts at most 15 working days (complex complaints)."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from werkzeug.serving import make_server

from admin_data.hotline import HOTLINE
from admin_data.workdays import HOLIDAYS, HolidayOverrides, WorkdayCalendar, missing_year
from cli.operations import calendar_state
from console import create_app
from external_tasks.appeal import variables_by_instance
from tests.conftest import free_port, wait_until
from tests.helpers import console_login, run_daily_process_now

#: Test data only (not the State Council's 2027 schedule, which the admin enters).
YEAR_2027 = ("years:\n  - year: 2027\n    holidays:\n      - {name: 测试假日, date: 2027-01-01}\n"
             "corrections:\n  holidays: []\n  workdays: []\n")
NOVEMBER = dt.date(2026, 11, 5)
OCTOBER = dt.date(2026, 10, 15)


def calendar_of_2030() -> WorkdayCalendar:
    """A year no package covers, entered by an admin, with a holiday on 31 December."""
    return WorkdayCalendar(HolidayOverrides({2030: (frozenset({dt.date(2030, 12, 31)}),
                                                    frozenset())}, {}, HOLIDAYS.path()))


@pytest.mark.parametrize("today, year, first_day", [
    (dt.date(2030, 10, 31), None, None),                     # before the warning day
    (dt.date(2030, 11, 1), 2031, dt.date(2030, 12, 27)),     # 2 working days: Dec 27, 30
    (dt.date(2031, 1, 2), 2031, dt.date(2030, 12, 27)),      # this year missing: stopped already
])
def test_the_warning_names_the_missing_year_and_the_first_day_that_needs_it(today, year,
                                                                            first_day):
    missing = missing_year(calendar_of_2030(), today, dt.date(today.year, 11, 1),
                           {"受理的诉求无法计算办理时限": 2})
    assert (missing and missing.year) == year
    assert (missing and missing.stops_from) == first_day


def test_the_first_day_is_the_last_one_whose_count_still_fits_plus_one():
    """15 working days from 10 Dec 2026 end on 31 Dec; from 11 Dec they reach 2027."""
    calendar = WorkdayCalendar()
    assert calendar.nth_working_day_after(dt.date(2026, 12, 10), 15) == dt.date(2026, 12, 31)
    missing = missing_year(calendar, NOVEMBER, dt.date(2026, 11, 1), {"办结": 15})
    assert missing.stops_from == dt.date(2026, 12, 11)


@pytest.fixture
def console_at(settings):
    """The console (in this process, on the stack's engine and files) with its clock set."""
    servers = []

    def start(today: dt.date) -> str:
        app = create_app(settings)
        app.config["SUBAN_TODAY"] = lambda: today
        server = make_server("127.0.0.1", free_port(), app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"
    yield start
    for server in servers:
        server.shutdown()


def health_calendar(settings, today: dt.date) -> dict:
    app = create_app(settings)
    app.config["SUBAN_TODAY"] = lambda: today
    response = app.test_client().get("/api/v1/health")
    assert response.status_code == 200
    return response.get_json()["calendar"]


def test_health_warns_from_the_warning_day_and_clears_when_the_year_is_entered(
        settings, restore_config):
    assert health_calendar(settings, OCTOBER)["ready"] is True
    warning = health_calendar(settings, NOVEMBER)
    assert warning["ready"] is False and warning["missingYear"] == 2027
    assert warning["stopsFrom"] == "2026-12-11"  # the deployed table's 15 working days
    assert "2026年12月11日起受理的诉求无法计算办理时限" in warning["message"]
    assert warning["editor"] == "/admin/files/holidays?year=2027"
    assert "缺少 2027 年 — 缺少2027年" in calendar_state(settings, NOVEMBER)

    hotline = HOTLINE.path(settings.config_dir)
    hotline.write_text(hotline.read_text("utf-8").replace('warn_from: "11-01"',
                                                          'warn_from: "12-01"'), "utf-8")
    assert health_calendar(settings, NOVEMBER)["ready"] is True  # the admin's warning day

    HOLIDAYS.path(settings.config_dir).write_text(YEAR_2027, "utf-8")
    assert health_calendar(settings, dt.date(2026, 12, 20))["ready"] is True
    assert calendar_state(settings, NOVEMBER) == "ok"


def test_the_home_page_warns_the_admin_and_links_to_the_holiday_editor(
        settings, browser, console_at, restore_config, tmp_path, screenshot):
    base = console_at(NOVEMBER)
    page = console_login(browser, base, settings.admin_user, settings.admin_password)
    warning = page.locator("#calendar-warning")
    assert "工作日日历缺少2027年的法定节假日和调休安排" in warning.inner_text()
    assert "2026年12月11日起受理的诉求无法计算办理时限" in warning.inner_text()
    screenshot(page, "calendar-warning-home", full_page=True)
    warning.get_by_role("link", name="录入2027年放假安排").click()
    page.wait_for_url(f"{base}/admin/files/holidays?year=2027")
    assert "尚无 2027 年的节假日数据" in page.locator("#year-view").inner_text()

    page.locator("#field-years-0-year").fill("2027")
    page.locator("#field-years-0-holidays-0-name").fill("测试假日")  # test data, not the notice
    page.locator("#field-years-0-holidays-0-date").fill("2027-01-01")
    page.locator("#reason").fill("录入测试年份")
    page.get_by_role("button", name="保存").click()
    assert "已保存为版本" in page.locator(".flash").inner_text()
    page.goto(f"{base}/")
    assert page.locator("#calendar-warning").count() == 0
    screenshot(page, "calendar-warning-cleared", full_page=True)
    page.context.close()


def test_the_daily_check_tells_the_hotline_centre(settings, engine, restore_config):
    def check(day: dt.date) -> dict:
        instance = engine.post("/process-definition/key/hotline_calendar_check/start", {
            "variables": {"checkDay": {"value": day.isoformat(), "type": "String"}}})
        run_daily_process_now(engine, instance["id"])
        wait_until(lambda: engine.get(f"/history/process-instance/{instance['id']}")["state"]
                   == "COMPLETED", what="the calendar check")
        return variables_by_instance(engine, [instance["id"]], (
            "calendarMissingYear", "lastNotification"))[instance["id"]]
    assert check(NOVEMBER)["calendarMissingYear"] == 2027
    assert "hotline_calendar_missing" in check(NOVEMBER)["lastNotification"]
    assert check(OCTOBER)["calendarMissingYear"] == 0
