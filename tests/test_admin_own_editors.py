"""The message templates', duty roster's and risk words' editors, in Chromium as an admin: a
template rendered for the sample appeal as the admin types (and an SMS's count), an unknown
placeholder refused next to its field with nothing saved; a slot added in the roster's calendar
is the duty leader of an appeal received in it; a risk word added is found in the next appeal;
the files keep their comments."""
from __future__ import annotations

from admin_data.assessment import load_assessment_config
from admin_data.loader import raw_data
from connectors.config import load_config
from connectors.sms import sms_content, sms_parts
from external_tasks.appeal import APPEAL_PROCESS, variables_by_instance
from tests.conftest import wait_until

CARD = "#templates-caller_received"
TEXT = "#field-templates-caller_received-text"


def comments(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.lstrip().startswith("#")]


def editor(console_page, settings, path: str):
    page = console_page(settings.admin_user)
    page.goto(settings.console_url + path)
    return page


def submit(page, button: str, reason: str = "") -> None:
    if reason:
        page.locator("#reason").fill(reason)
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state()


def appeal_variable(engine, number: str, name: str):
    """A variable of appeal `number` once its workers have set it."""
    instance = wait_until(lambda: next(iter(engine.get(
        "/history/process-instance", processInstanceBusinessKey=number,
        processDefinitionKey=APPEAL_PROCESS)), None), what="the appeal")["id"]
    return wait_until(lambda: variables_by_instance(engine, [instance], (name,))[instance],
                      what=name)[name]


def test_a_template_is_rendered_as_typed_and_an_unknown_placeholder_saves_nothing(
        settings, console_page, restore_config, screenshot):
    path = settings.config_dir / "notifications.yaml"
    before = path.read_bytes()
    sign = raw_data(before.decode("utf-8"))["sms"]["sign"]
    page = editor(console_page, settings, "/admin/files/notifications")
    card = page.locator(CARD)
    assert "来电人 · 短信" in card.locator("select").inner_text()
    assert "{appealNumber}" in card.locator(".placeholders").inner_text()

    page.locator(TEXT).fill("您好，您的工单")
    card.locator(".placeholder-chip[data-name='appealNumber']").click()  # at the cursor
    page.locator(TEXT).press("End")
    page.locator(TEXT).press_sequentially("已受理，来电号码{callerPhone}。")
    short = sms_content(sign, "您好，您的工单XS20261127-0001已受理，来电号码139****5678。")
    assert card.locator(".live-text").inner_text() == short  # the caller masked
    assert f"短信 {len(short)} 字 (含签名), 计 1 条" in card.locator(".sms-count").inner_text()

    long_text = "您反映的“{title}”已受理，工单编号{appealNumber}。" + "我们将按规定转交承办单位办理。" * 7
    page.locator(TEXT).fill(long_text)
    rendered = sms_content(sign, long_text.format(title="小区物业不清理垃圾",
                                                  appealNumber="XS20261127-0001"))
    assert sms_parts(rendered) == 3
    assert f"短信 {len(rendered)} 字 (含签名), 计 3 条" in card.locator(".sms-count").inner_text()
    screenshot(page, "editor-templates-live")

    page.locator(TEXT).fill(long_text + "{leaderName}")
    assert "未知占位符 {leaderName}" in card.locator(".live-problems").inner_text()
    submit(page, "保存", "改受理短信")
    error = page.locator(f".field:has({TEXT})").inner_text()
    assert "未知占位符 {leaderName}" in error
    assert page.locator(TEXT).input_value() == long_text + "{leaderName}"  # the edit is kept
    assert path.read_bytes() == before
    page.locator(CARD).scroll_into_view_if_needed()
    screenshot(page, "editor-templates-invalid")

    page.locator(TEXT).fill(long_text)
    submit(page, "检查并预览")
    assert "计 3 条" in page.locator("table:has(th:text('修改后'))").inner_text()
    submit(page, "保存", "改受理短信")
    assert "已保存为版本" in page.locator(".flash").inner_text()
    saved = path.read_text("utf-8")
    assert comments(saved) == comments(before.decode("utf-8"))
    config = load_config(path, env={})
    assert config.templates["caller_received"].text == long_text
    assert config.templates["unit_dispatched"].text.startswith("{unitName}：\n")
    screenshot(page, "editor-templates-saved", full_page=True)


def test_a_slot_added_in_the_calendar_is_the_duty_leader_of_the_next_appeal(
        settings, console_page, appeals, engine, restore_config, screenshot):
    path = settings.config_dir / "duty_roster.yaml"
    before = path.read_bytes()
    page = editor(console_page, settings, "/admin/files/duty_roster?month=2026-11")
    assert "2026 年 11 月坐班日历" in page.locator("#roster-month").inner_text()
    assert "县长" in page.locator("td[data-date='2026-11-25']").inner_text()

    page.locator("td[data-date='2026-11-26'] .slot-chip").drag_to(
        page.locator("td[data-date='2026-11-23']"))  # moved to Monday
    moved = page.locator("td[data-date='2026-11-23'] .slot-chip").get_attribute("data-row")
    assert page.locator(f"[name='{moved}-date']").input_value() == "2026-11-23"

    page.locator(".add-slot[data-date='2026-11-28']").click()  # a Saturday, in the past
    slot = page.locator("fieldset.slot.picked")
    assert slot.locator("input[name$='-date']").input_value() == "2026-11-28"
    slot.locator("input[name$='-start']").fill("15:00")
    slot.locator("input[name$='-end']").fill("16:00")
    submit(page, "保存", "增加周六坐班")
    leader = page.locator("fieldset.slot:has(.field-error) .field:has(select.slot-leader)")
    assert "请选择坐班领导" in leader.inner_text()
    assert path.read_bytes() == before
    screenshot(page, "editor-roster-invalid", full_page=True)

    leader.locator("select").select_option(label="县政协主席")
    page.locator("#sample-moment").fill("2026-11-28 15:30")
    submit(page, "检查并预览")
    assert "15:00–16:00 县政协主席" in page.locator("td[data-date='2026-11-28']").inner_text()
    assert "县政协主席" in page.locator("table:has(th:text('坐班领导'))").inner_text()
    screenshot(page, "editor-roster-preview")
    submit(page, "保存", "增加周六坐班")
    assert "已保存为版本" in page.locator(".flash").inner_text()
    assert "15:00–16:00 县政协主席" in page.locator("td[data-date='2026-11-28']").inner_text()
    saved = path.read_text("utf-8")
    assert comments(saved) == comments(before.decode("utf-8"))
    assert "{date: 2026-11-23, leader: leaderexecutive}" in saved
    screenshot(page, "editor-roster-saved", full_page=True)

    number = appeals.submit(receivedAt="2026-11-28T15:30:00+08:00")
    assert appeal_variable(engine, number, "dutyLeader") == "leadercppcc"


def test_a_risk_word_added_in_the_list_is_found_in_the_next_appeal(
        settings, console_page, appeals, engine, restore_config, screenshot):
    path = settings.config_dir / "assessment.yaml"
    before = path.read_bytes()
    count = len(load_assessment_config(path).major_risk_words)
    page = editor(console_page, settings, "/admin/files/assessment")
    page.locator(f"#field-major_risk_words-{count}").fill("聚集")
    submit(page, "保存", "增加风险词")
    assert "风险词重复: 聚集" in page.locator("#major_risk_words").inner_text()
    assert path.read_bytes() == before

    page.locator(f"#field-major_risk_words-{count}").fill("测试险情")
    page.locator("#sample-text").fill("村口发生测试 险情, 请速来")
    submit(page, "检查并预览")
    assert "测试险情" in page.locator("table:has(th:text('命中的重大风险词'))").inner_text()
    screenshot(page, "editor-risk-preview", full_page=True)
    submit(page, "保存", "增加风险词")
    assert "已保存为版本" in page.locator(".flash").inner_text()
    assert comments(path.read_text("utf-8")) == comments(before.decode("utf-8"))

    number = appeals.submit(content="村口发生测试险情, 请速来")
    assert appeal_variable(engine, number, "majorRiskWords") == ["测试险情"]
