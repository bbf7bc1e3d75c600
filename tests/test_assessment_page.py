"""The 考核与研判 pages in a real browser, behind the console login (no token prompt): the
indicators table, the ECharts charts and the printable bulletin from the API; every figure opens
the list of the appeals behind it; synthetic appeals are labelled on every page."""
from __future__ import annotations


from admin_data.loader import REPO_ROOT
from assessment import store
from assessment.synthetic import load_synthetic

SCREENSHOTS = REPO_ROOT / "data" / "screenshots"

def test_overview_and_printable_bulletin_show_the_figures(console_page, settings, screenshot):
    load_synthetic(store.store_path(settings), 2_000, 2025, progress=False)
    page = console_page("countyleaders01")  # any dialog, such as a token prompt, fails the test
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(f"{settings.console_url}/assessment")
    sync_button = page.get_by_role("button", name="同步引擎数据")
    page.locator("#sync-status", has_text="已同步").wait_for()  # the page syncs when it opens
    assert sync_button.is_enabled()
    page.locator("#trend canvas").wait_for()  # and then shows this month
    page.get_by_label("月份").select_option("2025-06")
    page.locator("select[name=group]").select_option("township")
    requests.clear()
    with page.expect_response(lambda response: "/assessment/trend" in response.url):
        page.get_by_role("button", name="查询").click()
    # Every township is listed, with or without appeals.
    page.wait_for_function("document.querySelectorAll('#indicators tr').length === 1 + 27")
    headers = page.locator("#indicators th").all_inner_texts()
    assert headers[:2] == ["单位", "受理"] and headers[-1] == "综合得分"
    assert page.locator("#indicators td", has_text="闫集镇").count() == 1
    page.locator("#chart canvas").wait_for()
    assert page.locator("#message").inner_text() == ""  # no error after the query
    # The 12-month trend in one request, no longer one per month.
    assert len([url for url in requests if "/trend" in url]) == 1
    assert not [url for url in requests if "group=county" in url]
    screenshot(page, "console-assessment")
    # Clicked twice in a row: the second click finds the button disabled; the job's progress
    # and elapsed time show, then its result, which stays.
    disabled, status = page.evaluate("""() => {
        const button = document.getElementById("sync");
        button.click(); button.click();
        return [button.disabled, document.getElementById("sync-status").textContent]; }""")
    assert disabled and "已用时" in status
    page.locator("#sync-status", has_text="同步引擎数据已完成").wait_for()
    assert "已同步: 办结" in page.locator("#sync-status").inner_text()
    assert sync_button.is_enabled()
    # The demo profile counts the synthetic appeals, and says so.
    assert "合成(模拟)工单" in page.locator("#synthetic").inner_text()

    # A figure opens the list of its appeals: 闫集镇's 按时办结率, numerator and denominator.
    page.get_by_role("button", name="查询").click()
    page.wait_for_function("document.querySelectorAll('#indicators tr').length === 1 + 27")
    yanji = page.locator("#indicators tr", has_text="闫集镇")
    rate = yanji.locator("td").nth(headers.index("按时办结率"))
    shown = rate.inner_text()
    score_link = yanji.locator("td").nth(headers.index("综合得分")).locator("a")
    score_shown, score_page = score_link.inner_text(), score_link.get_attribute("href")
    rate.locator("a").click()
    page.locator("table.appeals[data-part=denominator] tr").nth(1).wait_for()
    assert page.locator("#title").inner_text() == f"闫集镇 · 按时办结率: {shown}"
    assert "合成(模拟)工单" in page.locator("#synthetic").inner_text()
    headings = page.locator("#parts h2").all_inner_texts()
    assert headings[0].startswith("分子: 按时办结 = ") and headings[1].startswith("分母: ")
    assert "工单编号" in page.locator("table.appeals th").all_inner_texts()
    screenshot(page, "console-assessment-explain")

    # The score shows how it is made: each rate with its weight, each opening its appeals.
    page.goto(f"{settings.console_url}{score_page}")
    page.locator("#components tr").nth(5).wait_for()
    assert page.locator("#title").inner_text() == f"闫集镇 · 综合得分: {score_shown}"
    assert page.locator("#components th").all_inner_texts()[:3] == ["指标", "比率", "权重"]
    screenshot(page, "console-assessment-score")
    page.locator("#components a", has_text="按时办结率").click()
    page.locator("table.appeals[data-part=denominator] tr").nth(1).wait_for()
    assert page.locator("#title").inner_text() == f"闫集镇 · 按时办结率: {shown}"

    # A number of the 研判 tables opens its appeals: the month's top problem.
    page.goto(f"{settings.console_url}/assessment")
    page.locator("#sync-status", has_text="已同步").wait_for()
    page.get_by_label("月份").select_option("2025-06")
    with page.expect_response(lambda response: "/assessment/trend" in response.url):
        page.get_by_role("button", name="查询").click()
    top = page.locator("#problems tr").nth(1)
    category, count = top.locator("td").nth(0).inner_text(), top.locator("td").nth(1).inner_text()
    assert page.locator("#surges a, #weekly a").count() > 0
    top.locator("td").nth(1).locator("a").click()
    page.locator("table.appeals[data-part=appeals] tr").nth(1).wait_for()
    assert page.locator("#title").inner_text() == f"突出问题 · {category}: {count} 件"
    assert page.locator("#parts h2").first.inner_text().startswith(f"本期件数 = {count} ")
    assert page.locator("table.appeals[data-part=appeals] tr").count() == 1 + int(count)
    assert "环比" in page.locator("#notes").inner_text()
    assert "合成(模拟)工单" in page.locator("#synthetic").inner_text()
    screenshot(page, "console-assessment-analysis-explain")

    page.goto(f"{settings.console_url}/assessment/bulletin?month=2025-06")
    page.locator("#county td", has_text="全县").wait_for()
    assert "2025-06-01 至 2025-06-30" in page.locator("#meta").inner_text()
    assert page.locator("#township tr").count() == 1 + 27
    assert "合成(模拟)工单" in page.locator("#synthetic").inner_text()
    # Every figure links to its appeals, the score to how it is made: all cells but the unit.
    assert page.locator("#county a").count() == page.locator("#county td").count() - 1
    assert page.locator("#problems a").count() == 4 * (page.locator("#problems tr").count() - 1)
    screenshot(page, "console-bulletin", full_page=True)
    page.goto(f"{settings.console_url}/assessment/bulletin?month=2025-06&include_synthetic=false")
    page.locator("#county td", has_text="全县").wait_for()
    assert page.locator("#synthetic").is_hidden()
