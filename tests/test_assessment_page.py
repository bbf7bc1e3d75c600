"""The 考核与研判 pages in a real browser: they ask for the console token once, then show the
indicators table, the score chart and the printable bulletin from the API; every figure opens
the list of the appeals behind it; synthetic appeals are labelled on every page."""
from __future__ import annotations

import shutil

from admin_data.loader import REPO_ROOT
from assessment import store
from assessment.synthetic import load_synthetic

SCREENSHOTS = REPO_ROOT / "data" / "screenshots"


def screenshot(page, tmp_path, name: str) -> None:
    """Saved in the test's folder and copied to data/screenshots/ (git-ignored) to look at."""
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SCREENSHOTS / path.name)


def test_overview_and_printable_bulletin_show_the_figures(browser, settings, tmp_path):
    load_synthetic(store.store_path(settings), 2_000, 2025, progress=False)
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.on("dialog", lambda dialog: dialog.accept(settings.api_token))
    try:
        page.goto(f"{settings.console_url}/assessment")
        page.locator("#message", has_text="已同步").wait_for()  # the page syncs when it opens
        page.locator("#trend svg").wait_for()  # and then shows this month
        page.locator("input[name=month]").fill("2025-06")
        page.locator("select[name=group]").select_option("township")
        page.get_by_role("button", name="查询").click()
        # Every township is listed, with or without appeals.
        page.wait_for_function("document.querySelectorAll('#indicators tr').length === 1 + 27")
        headers = page.locator("#indicators th").all_inner_texts()
        assert headers[:2] == ["单位", "受理"] and headers[-1] == "综合得分"
        assert page.locator("#indicators td", has_text="闫集镇").count() == 1
        assert page.locator("#chart svg rect").count() > 0
        assert page.locator("#message").inner_text() == ""  # no error after the query
        # The demo profile counts the synthetic appeals, and says so.
        assert "合成(模拟)工单" in page.locator("#synthetic").inner_text()
        screenshot(page, tmp_path, "assessment-overview")

        # A figure opens the list of its appeals: 闫集镇's 按时办结率, numerator and denominator.
        yanji = page.locator("#indicators tr", has_text="闫集镇")
        headers = page.locator("#indicators th").all_inner_texts()
        rate = yanji.locator("td").nth(headers.index("按时办结率"))
        shown = rate.inner_text()
        rate.locator("a").click()
        page.locator("table.appeals[data-part=denominator] tr").nth(1).wait_for()
        assert page.locator("#title").inner_text() == f"闫集镇 · 按时办结率: {shown}"
        assert "合成(模拟)工单" in page.locator("#synthetic").inner_text()
        headings = page.locator("h2").all_inner_texts()
        assert headings[0].startswith("分子: 按时办结 = ") and headings[1].startswith("分母: ")
        assert "工单编号" in page.locator("table.appeals th").all_inner_texts()
        screenshot(page, tmp_path, "assessment-explain")

        page.goto(f"{settings.console_url}/assessment/bulletin?month=2025-06")
        page.locator("#county td", has_text="全县").wait_for()
        assert "2025-06-01 至 2025-06-30" in page.locator("#meta").inner_text()
        assert page.locator("#township tr").count() == 1 + 27
        assert "合成(模拟)工单" in page.locator("#synthetic").inner_text()
        # Every figure links to its appeals: all cells but the unit and the score.
        assert page.locator("#county a").count() == page.locator("#county td").count() - 2
        screenshot(page, tmp_path, "assessment-bulletin")
        page.goto(f"{settings.console_url}/assessment/bulletin?month=2025-06"
                  "&include_synthetic=false")
        page.locator("#county td", has_text="全县").wait_for()
        assert page.locator("#synthetic").is_hidden()
    finally:
        page.context.close()
