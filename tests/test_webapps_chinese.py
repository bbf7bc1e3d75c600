"""The webapps in Chinese, in Debian's Chromium at 1366×768 with an English browser: a township
clerk signs for an appeal in Tasklist, an administrator opens Cockpit, anyone switches to
English and back. Screenshots go to the test's folder and to data/screenshots/."""
import re


from deploy.engine.webapp_locales import load_glossary
from tests.appeal_driver import unique_phone
from tests.helpers import county_screen

#: Latin words anyone may see: the glossary's (ID, JSON …), our switch to English, the footer's
#: "Camunda Platform" link and its time zone, Asia/Shanghai.
LATIN_ALLOWED = {*load_glossary()["keep_in_latin"], "Platform", "English", "Asia", "Shanghai"}


def english_words(page, ignore: set[str]) -> set[str]:
    """Words in Latin letters on the screen, other than names, numbers and ids."""
    text = page.locator("body").inner_text()
    return {word for word in re.findall(r"\b[A-Za-z]{2,}\b", text)} - LATIN_ALLOWED - ignore


def test_township_clerk_signs_for_an_appeal_in_chinese(tasklist, appeals, settings, browser,
                                                       screenshot):
    number = appeals.submit(township="dulou", title="杜楼镇某小区物业不清理垃圾",
                            callerPhone=unique_phone())
    late = appeals.submit(township="dulou", title="杜楼镇集市路灯不亮", callerPhone=unique_phone())
    appeals.task(number, "dulou01", "Task_SignForAppeal")
    appeals.task(late, "dulou01", "Task_SignForAppeal")
    appeals.fire_timer(late, "Event_SignForOverdue")  # its card shows the overdue mark

    login = county_screen(browser, "en-US")
    login.goto(f"{settings.webapps_url}/tasklist/")
    login.get_by_role("button", name="登录").wait_for()
    assert login.get_by_placeholder("用户名").is_visible()
    assert login.locator("html").get_attribute("lang") == "zh-CN"
    screenshot(login, "tasklist-login")
    assert english_words(login, set()) == set()
    login.context.close()

    page = tasklist("dulou01")
    filters = page.locator(".task-filters")
    # A filter's link reads "我的待签收 (2)" once Tasklist has counted its tasks.
    for name in ("我的待签收", "我的待办", "即将超期", "已超期", "协办", "督办", "本单位待办"):
        filters.get_by_text(name).first.wait_for()
    filters.get_by_text("我的待签收").first.click()
    card = page.locator(".tasks-list li.task").filter(has_text=number)
    card.wait_for()
    for text in ("签收工单", "工单编号", number, "标题", "杜楼镇某小区物业不清理垃圾", "办结时限", "超期"):
        assert text in card.inner_text(), text
    late_card = page.locator(".tasks-list li.task").filter(has_text=late)
    late_card.get_by_text("杜楼镇集市路灯不亮").wait_for()
    assert not page.locator(".ce-eol-banner").is_visible()
    screenshot(page, "tasklist-filters")
    assert english_words(page, {"dulou"}) == set()

    card.locator("h4.task a").click()
    page.get_by_text("认领", exact=True).click()
    form = page.locator(".form-pane, .task-details")
    assert form.get_by_label("工单编号").input_value() == number
    form.get_by_label("签收", exact=True).check()
    screenshot(page, "tasklist-sign-for")
    assert english_words(page, {"dulou"}) == set()
    page.get_by_role("button", name="完成").click()
    appeals.task(number, "dulou01", "Task_HandleAppeal")


def test_admin_opens_cockpit_in_chinese(browser, settings, screenshot):
    page = county_screen(browser, "en-US")
    try:
        page.goto(f"{settings.webapps_url}/cockpit/")
        page.get_by_placeholder("用户名").fill(settings.admin_user)
        page.get_by_placeholder("密码").fill(settings.admin_password)
        page.get_by_role("button", name="登录").click()
        page.get_by_text("运行中的流程实例").first.wait_for()
        page.get_by_text("未解决的异常").first.wait_for()
        assert not page.locator(".ce-eol-banner").is_visible()
        screenshot(page, "cockpit-dashboard")
        assert english_words(page, {settings.admin_user}) == set()

        page.goto(f"{settings.webapps_url}/cockpit/default/#/processes")
        page.get_by_text("12345诉求办理").first.wait_for()
        screenshot(page, "cockpit-processes")
        assert english_words(page, {settings.admin_user}) == set()
    finally:
        page.context.close()


def test_english_stays_one_click_away(browser, settings):
    page = county_screen(browser, "zh-CN")
    try:
        page.goto(f"{settings.webapps_url}/tasklist/")
        page.get_by_role("button", name="English").click()
        page.get_by_role("button", name="Log in").wait_for()
        assert page.get_by_placeholder("Username").is_visible()
        page.get_by_role("button", name="中文").click()
        page.get_by_role("button", name="登录").wait_for()
    finally:
        page.context.close()
