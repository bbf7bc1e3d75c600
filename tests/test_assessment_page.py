"""The 考核与研判 pages in a real browser: they ask for the console token once, then show the
indicators table, the score chart and the printable bulletin from the API."""
from __future__ import annotations

from assessment import store
from assessment.synthetic import load_synthetic


def test_overview_and_printable_bulletin_show_the_figures(browser, settings):
    load_synthetic(store.store_path(settings), 2_000, 2025, progress=False)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
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

        page.goto(f"{settings.console_url}/assessment/bulletin?month=2025-06")
        page.locator("#county td", has_text="全县").wait_for()
        assert "2025-06-01 至 2025-06-30" in page.locator("#meta").inner_text()
        assert page.locator("#township tr").count() == 1 + 27
    finally:
        page.context.close()
