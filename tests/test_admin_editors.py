"""The structured editors, in Chromium as an admin: fields labelled from the files' schemas, a bad
field's error next to it and nothing saved, a valid change applied to the next appeal; the
holiday editor's year view; the raw YAML read-only by default."""
from __future__ import annotations

import datetime as dt

from admin_data.hotline import load_hotline_settings
from admin_data.workdays import SHANGHAI, WorkdayCalendar, load_overrides
from external_tasks.appeal import APPEAL_PROCESS, variables_by_instance
from tests.conftest import wait_until
from tests.helpers import console_login

#: The arbitration matter of the shipped scope_rules.yaml (excluded: 需通过仲裁程序解决).
ARBITRATION = 5
TEST_PHRASE = "测试专用甲乙丙"


def admin_page(browser, settings, path: str):
    page = console_login(browser, settings.console_url, settings.admin_user,
                         settings.admin_password)
    page.goto(settings.console_url + path)
    return page


def field(page, name: str):
    """The field's box: label, input, unit, allowed range and its error."""
    return page.locator(f".field:has(#field-{name})")


def save(page, reason: str = "测试修改设置") -> None:
    page.locator("#reason").fill(reason)
    page.get_by_role("button", name="保存").click()
    page.wait_for_load_state()


def test_hotline_settings_are_labelled_fields_and_a_bad_one_saves_nothing(
        settings, browser, restore_config, tmp_path, screenshot):
    path = settings.config_dir / "hotline.yaml"
    before = path.read_bytes()
    page = admin_page(browser, settings, "/admin/files/hotline")
    window = field(page, "repeat-window_days")
    assert "重复件认定期" in window.inner_text() and "允许 1–365天" in window.inner_text()
    assert "三级督办 (县领导)" in page.get_by_role("group", name="督办单答复时限").inner_text()
    assert page.locator("details.raw textarea").count() == 0  # the raw view is read-only
    share = field(page, "reminders-hours_share_percent")  # what the reminder timers read
    assert "用去多少时提醒" in share.inner_text() and "允许 10–95%" in share.inner_text()
    retrain = field(page, "suggester-retrain_every_days")
    assert "每隔几天重训一次分类建议模型" in retrain.inner_text() and "允许 1–90天" in retrain.inner_text()

    window.locator("input").fill("400")
    field(page, "reminders-working_day_time").locator("input").fill("9点")
    field(page, "supervision-response_working_days-3").locator("input").fill("三")
    save(page)
    assert "应为 1 到 365 天" in field(page, "repeat-window_days").inner_text()
    assert "应为整数" in field(page, "supervision-response_working_days-3").inner_text()
    assert page.locator("#field-repeat-window_days").input_value() == "400"  # the edit is kept
    assert "应写成 时:分" in field(page, "reminders-working_day_time").inner_text()
    screenshot(page, "editor-hotline-invalid", full_page=True)
    assert path.read_bytes() == before

    field(page, "repeat-window_days").locator("input").fill("60")
    field(page, "supervision-response_working_days-3").locator("input").fill("4")
    field(page, "reminders-working_day_time").locator("input").fill("08:30")
    save(page)
    assert "已保存为版本" in page.locator(".flash").inner_text()
    saved = load_hotline_settings(path)  # as the workers read it
    assert saved["repeat"]["window_days"] == 60
    assert saved["supervision"]["response_working_days"] == {1: 2, 2: 2, 3: 4}
    assert saved["reminders"]["working_day_time"] == "08:30"
    assert path.read_text("utf-8").startswith("# 萧县 12345")  # the header comment stays
    screenshot(page, "editor-hotline-saved", full_page=True)
    page.context.close()


def test_a_scope_phrase_added_in_the_form_flags_the_next_appeal(
        settings, browser, appeals, engine, restore_config, tmp_path, screenshot):
    path = settings.config_dir / "scope_rules.yaml"
    before = path.read_bytes()
    page = admin_page(browser, settings, "/admin/files/scope_rules")
    patterns = page.locator(f"#field-matters-{ARBITRATION}-patterns")
    assert "仲裁" in page.locator(f"#matters-{ARBITRATION}").inner_text()

    patterns.fill(patterns.input_value() + "\n(未闭合")
    save(page, "增加仲裁的说法")
    assert "不是有效的正则表达式" in field(page, f"matters-{ARBITRATION}-patterns").inner_text()
    assert path.read_bytes() == before

    patterns = page.locator(f"#field-matters-{ARBITRATION}-patterns")
    patterns.fill(patterns.input_value().replace("(未闭合", TEST_PHRASE))
    page.locator("#sample-content").fill(f"我们小区的{TEST_PHRASE}问题一直没解决")
    page.get_by_role("button", name="检查并预览").click()
    preview = page.locator("table:has(th:text('命中的事项'))").inner_text()
    assert "不予受理事项, 转人工复核" in preview
    screenshot(page, "editor-scope-preview", full_page=True)
    save(page, "增加仲裁的说法")
    assert "已保存为版本" in page.locator(".flash").inner_text()
    page.context.close()

    number = appeals.submit(content=f"我们小区的{TEST_PHRASE}问题一直没解决")
    instance = wait_until(lambda: next(iter(engine.get(
        "/history/process-instance", processInstanceBusinessKey=number,
        processDefinitionKey=APPEAL_PROCESS)),
        None), what="the appeal")
    found = wait_until(lambda: variables_by_instance(engine, [instance["id"]], (
        "scopeFlag", "scopeMatters"))[instance["id"]].get("scopeFlag"), what="the scope check")
    assert found == "excluded"


def calendar_day(page, day: str) -> str:
    return page.locator(f"td[data-date='{day}']").get_attribute("class")


def test_the_holiday_editor_shows_the_year_and_a_make_up_saturday_counts(
        settings, browser, appeals, engine, restore_config, tmp_path, screenshot):
    """2027 as test data (not the State Council's schedule): 1–3 January off, Saturday 9 January
    worked; and a correction of 2026 that the next appeal's deadline counts."""
    path = settings.config_dir / "holidays.yaml"
    page = admin_page(browser, settings, "/admin/files/holidays?year=2027")
    assert "尚无 2027 年的节假日数据" in page.locator("#year-view").inner_text()
    screenshot(page, "editor-holidays-empty-year", full_page=True)

    page.locator("#field-years-0-year").fill("2027")
    page.locator("#field-years-0-holidays-0-name").fill("测试假期")
    page.locator("#field-years-0-holidays-0-from").fill("2027-01-01")
    page.locator("#field-years-0-holidays-0-to").fill("2027-01-03")
    page.locator("#field-years-0-workdays-0-name").fill("测试调休")
    page.locator("#field-years-0-workdays-0-date").fill("2027-01-11")  # a Monday: refused
    save(page, "录入测试年份")
    assert "调休上班日应为周六或周日" in field(page, "years-0-workdays-0-date").inner_text()
    assert "years: []" in path.read_text("utf-8")
    screenshot(page, "editor-holidays-invalid", full_page=True)

    page.locator("#field-years-0-workdays-0-date").fill("2027-01-09")
    page.locator("#sample-receivedOn").fill("2027-01-04")
    page.locator("#sample-workingDays").fill("5")
    page.get_by_role("button", name="检查并预览").click()
    assert calendar_day(page, "2027-01-01").endswith("holiday")
    assert calendar_day(page, "2027-01-09").endswith("makeup")
    assert calendar_day(page, "2027-01-10").endswith("rest")
    assert "2027-01-09 23:59" in page.locator("table:has(th:text('工作日届满'))").inner_text()
    screenshot(page, "editor-holidays-preview", full_page=True)
    save(page, "录入测试年份")
    assert "已保存为版本" in page.locator(".flash").inner_text()

    # A correction: Saturday 6 June 2026 worked; an appeal received on 1 June counts it.
    page.goto(settings.console_url + "/admin/files/holidays?year=2026")
    page.locator("#field-corrections-workdays-0-name").fill("测试更正")
    page.locator("#field-corrections-workdays-0-date").fill("2026-06-06")
    save(page, "测试更正")
    assert calendar_day(page, "2026-06-06").endswith("makeup")
    page.context.close()

    received = dt.datetime(2026, 6, 1, 9, tzinfo=SHANGHAI)
    number = appeals.submit(receivedAt=received.isoformat())
    deadline = wait_until(lambda: appeals.status(number)["deadlines"].get("completion"),
                          what="the deadlines")
    counted = WorkdayCalendar(load_overrides(path)).end_of_working_days(received, 10)
    assert counted.date() == dt.date(2026, 6, 12)  # without the Saturday: 15 June
    assert dt.datetime.fromisoformat(deadline) == counted


def test_the_second_of_two_concurrent_saves_is_refused_with_a_diff_and_nothing_lost(
        settings, browser, restore_config, tmp_path, screenshot):
    path = settings.config_dir / "hotline.yaml"
    first = admin_page(browser, settings, "/admin/files/hotline")
    second = admin_page(browser, settings, "/admin/files/hotline")
    field(first, "repeat-window_days").locator("input").fill("45")
    save(first, "第一位管理员的修改")
    assert "已保存为版本" in first.locator(".flash").inner_text()

    field(second, "callback-max_attempts").locator("input").fill("5")
    save(second, "第二位管理员的修改")
    assert "已被他人保存" in second.locator(".errors").inner_text()
    diff = second.locator("pre.diff").inner_text()
    assert "-  window_days: 45" in diff and "+  window_days: 30" in diff  # theirs, then mine
    assert second.locator("#field-callback-max_attempts").input_value() == "5"  # kept
    assert load_hotline_settings(path)["callback"]["max_attempts"] == 3  # not saved
    screenshot(second, "editor-concurrent-refused", full_page=True)

    field(second, "repeat-window_days").locator("input").fill("45")  # merge theirs
    save(second, "第二位管理员的修改")
    assert "已保存为版本" in second.locator(".flash").inner_text()
    saved = load_hotline_settings(path)
    assert (saved["repeat"]["window_days"], saved["callback"]["max_attempts"]) == (45, 5)
    first.context.close()
    second.context.close()


def test_a_place_added_to_a_township_routes_the_next_appeal_there(
        settings, browser, appeals, restore_config, tmp_path, screenshot):
    path = settings.config_dir / "gazetteer.yaml"
    before = path.read_bytes()
    page = admin_page(browser, settings, "/admin/files/gazetteer")
    jinping = next(index for index in range(60) if page.locator(
        f"#field-townships-{index}-unit").input_value() == "jinping")
    page.locator("#field-townships-0-unit").fill("nosuchunit")
    save(page, "测试新增村庄")
    assert "单位目录中没有单位 'nosuchunit'" in field(page, "townships-0-unit").inner_text()
    assert path.read_bytes() == before
    screenshot(page, "editor-gazetteer-invalid", full_page=True)

    page.locator("#field-townships-0-unit").fill("fengcheng")
    page.locator(f"#field-townships-{jinping}-places").fill("测试新村庄")
    save(page, "测试新增村庄")
    assert "已保存为版本" in page.locator(".flash").inner_text()
    page.context.close()

    number = appeals.submit(township=None, address="测试新村庄5号")
    lead = wait_until(lambda: appeals.status(number).get("leadUnit"), what="the dispatch")
    assert lead == "jinping"
