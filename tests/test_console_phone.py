"""The console on a phone, 390 px wide: the admin editors and every page a leader opens fit the
screen (the page never scrolls sideways; wide tables and text scroll inside their own box), and
their forms work from the keyboard: every field has a label, Tab goes through the fields in the
order they are read, and the focused one shows it."""
from __future__ import annotations

import re

from console.admin.files import FILES, TIME_LIMITS
from tests.conftest import DESKTOP, PHONE
from tests.helpers import assert_fits_the_screen

ADMIN_PAGES = ("/admin/", *(f"/admin/files/{name}" for name in FILES if name != TIME_LIMITS.name),
               "/admin/time-limits",
               "/admin/deploy", "/admin/api-clients", "/admin/audit", "/admin/demo", "/password")
LEADER_PAGES = ("/", "/knowledge/", "/assessment", "/assessment/bulletin?month=2025-06",
                "/assessment/explain?month=2025-06&figure=sign_for_on_time_rate&group=county")
#: Form fields a user reaches (hidden ones and the file inputs behind their label-buttons aside)
#: that no label, aria-label or aria-labelledby names.
UNLABELLED = """() => [...document.querySelectorAll("main input, main select, main textarea")]
    .filter((field) => field.type !== "hidden" && !field.classList.contains("suban-file")
            && field.offsetParent !== null)
    .filter((field) => !(field.labels && field.labels.length) && !field.getAttribute("aria-label")
            && !field.getAttribute("aria-labelledby"))
    .map((field) => field.outerHTML.slice(0, 120))"""


def look_at(page, base: str, paths, screenshot, prefix: str) -> None:
    for path in paths:
        answer = page.goto(base + path)
        assert answer.status == 200, path
        page.wait_for_load_state("networkidle")
        # A page's long action (the assessment page syncs when it opens) ends before the look.
        page.locator(".suban-progress .spinner-border").wait_for(state="detached",
                                                                 timeout=120_000)
        assert_fits_the_screen(page)
        assert page.evaluate(UNLABELLED) == [], path
        name = re.sub(r"[^a-z0-9]+", "-", path.split("?")[0].lower()).strip("-") or "home"
        screenshot(page, f"{prefix}-{name}", full_page=True)


def test_the_admin_editors_fit_a_phone(console_page, settings, screenshot):
    page = console_page(settings.admin_user, PHONE)
    look_at(page, settings.console_url, ADMIN_PAGES, screenshot, "phone-admin")


def test_the_leaders_pages_fit_a_phone(console_page, settings, screenshot):
    page = console_page("countyleaders01", PHONE)
    look_at(page, settings.console_url, LEADER_PAGES, screenshot, "phone-leader")


def test_an_editor_form_is_worked_from_the_keyboard(console_page, settings):
    page = console_page(settings.admin_user, DESKTOP)
    page.goto(f"{settings.console_url}/admin/files/holidays")
    page.locator("form.editor").wait_for()
    first = page.locator("form.editor input:not([type=hidden]), form.editor select").first
    first.focus()
    visited = []
    for _ in range(12):
        visited.append(page.evaluate("""() => {
            const field = document.activeElement, style = getComputedStyle(field);
            const all = [...document.querySelectorAll("input, select, textarea, button, a[href]")];
            return {index: all.indexOf(field), outline: style.outlineStyle,
                    named: Boolean(field.labels && field.labels.length) || field.tagName === "BUTTON"}; }"""))
        page.keyboard.press("Tab")
    assert [step["index"] for step in visited] == sorted(step["index"] for step in visited)
    assert all(step["outline"] != "none" for step in visited), visited  # focus shows
    assert all(step["named"] for step in visited), visited
