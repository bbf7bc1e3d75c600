"""The taxonomy tree and the directory table, in Chromium as an admin: a leaf's department
picked from the directory routes the next appeal there (the real engine and routing worker), a
bad field's error next to it and nothing saved, a unit still routed to not removed, a directory
edit saved and shown again."""
from __future__ import annotations

from admin_data.directory import load_directory
from admin_data.taxonomy import load_taxonomy
from tests.conftest import wait_until

#: 城市管理 / 道路市政设施: 属事牵头 by the city management bureau (urbanmgmt), auto-dispatched.
LAMPS = "citymgmt.municipalFacilities"


def editor(console_page, settings, name: str):
    page = console_page(settings.admin_user)
    page.goto(f"{settings.console_url}/admin/files/{name}")
    return page


def submit_form(page, button: str, reason: str = "测试修改派单表") -> None:
    page.locator("#reason").fill(reason)
    # A directory save syncs the engine's groups and users before the page comes back.
    page.get_by_role("button", name=button).click(timeout=180_000)
    page.wait_for_load_state()


def leaf_of(page, code: str):
    """The leaf's entry in the tree (found by its code field)."""
    return page.locator("details.leaf", has=page.locator(
        f"input[name$='-code'][value='{code}']"))


def test_a_department_changed_in_the_tree_routes_the_next_appeal_there(
        settings, console_page, appeals, restore_config, screenshot):
    path = settings.config_dir / "taxonomy.yaml"
    before = path.read_bytes()
    page = editor(console_page, settings, "taxonomy")
    assert page.locator("details.category[open]").count() == 0  # collapsed to the categories
    screenshot(page, "editor-taxonomy-tree")
    page.locator("#tree-search").fill("井盖")
    assert page.locator("#tree-count").inner_text() == "找到 1 个二级分类"
    lamps = leaf_of(page, LAMPS)
    assert lamps.is_visible() and "县城管局" in lamps.locator("summary").inner_text()
    assert page.locator("details.leaf:visible").count() == 1
    lamps.locator("summary").click()
    screenshot(page, "editor-taxonomy-search")

    code = lamps.locator("input[name$='-code']")
    code.fill("citymgmt.井盖")
    lamps.locator("select[name$='-department']").select_option("transport")
    submit_form(page, "保存")
    lamps = leaf_of(page, "citymgmt.井盖")
    assert lamps.get_attribute("open") is not None  # the leaf with the error is open
    assert "只能使用英文字母、数字和点" in lamps.locator(
        ".field:has(input[name$='-code'])").inner_text()
    assert lamps.locator("select[name$='-department']").input_value() == "transport"  # kept
    assert path.read_bytes() == before
    screenshot(page, "editor-taxonomy-invalid", full_page=True)

    lamps.locator("input[name$='-code']").fill(LAMPS)
    page.locator("#sample-categoryCode").select_option(LAMPS)
    page.locator("#sample-township").select_option("fengcheng")
    page.locator("#sample-content").fill("路口井盖丢了")
    submit_form(page, "检查并预览")
    preview = page.locator("table:has(th:text('这条诉求的牵头单位'))")
    assert "县城管局" in preview.inner_text() and "县交通运输局" in preview.inner_text()
    preview.scroll_into_view_if_needed()
    screenshot(page, "editor-taxonomy-preview")  # the page is long: the file's whole diff follows
    submit_form(page, "保存")
    assert "已保存为版本" in page.locator(".flash").inner_text()
    assert load_taxonomy(path, load_directory(settings.config_dir / "directory.yaml")).leaf(
        LAMPS).department == "transport"

    number = appeals.submit(categoryCode=LAMPS, title="路口井盖丢了",
                            content="凤城街道某路口井盖丢了, 晚上很危险")
    lead = wait_until(lambda: appeals.status(number).get("leadUnit"), what="the dispatch")
    assert lead == "transport"


def test_a_leaf_moved_to_another_category_takes_its_code_along(
        settings, console_page, restore_config):
    path = settings.config_dir / "taxonomy.yaml"
    page = editor(console_page, settings, "taxonomy")
    page.locator("#tree-search").fill("井盖")
    lamps = leaf_of(page, LAMPS)
    lamps.locator("summary").click()
    lamps.locator("select[name$='-move']").select_option(label="城乡建设")
    submit_form(page, "保存", "道路设施归入城乡建设")
    assert "已保存为版本" in page.locator(".flash").inner_text()
    taxonomy = load_taxonomy(path, load_directory(settings.config_dir / "directory.yaml"))
    moved = taxonomy.leaf("construction.municipalFacilities")
    assert (moved.category_name, moved.department) == ("城乡建设", "urbanmgmt")
    assert taxonomy.leaf(LAMPS) is None


def test_a_directory_edit_round_trip_and_a_routed_unit_is_not_removed(
        settings, console_page, engine, restore_config, screenshot):
    path = settings.config_dir / "directory.yaml"
    before = path.read_bytes()
    page = editor(console_page, settings, "directory")
    housing = page.locator("tr", has=page.locator("input[name$='-id'][value='housing']"))
    assert housing.locator("select[name$='-kind']").input_value() == "department"
    housing.locator("input[name$='-delete']").check()
    submit_form(page, "保存", "测试删除单位")
    refused = page.locator("#units").inner_text()
    assert "「县住建局」(housing) 不能删除" in refused
    assert "诉求分类与派单表: 城乡建设 / 物业服务 (主管部门)" in refused
    assert "仍在使用, 已保留" in housing.inner_text()  # the row stays, nothing of it lost
    assert path.read_bytes() == before
    screenshot(page, "editor-directory-refused")

    new = page.locator("tr.new", has=page.locator("input[name^='units-']"))
    new.locator("input[name$='-id']").fill("testunit")
    new.locator("input[name$='-name']").fill("测试单位")
    new.locator("select[name$='-kind']").select_option("department")
    new.locator("input[name$='-demo_user']").fill("testunit01")
    submit_form(page, "检查并预览", "测试新增单位")
    assert "测试单位 (testunit)" in page.locator("table:has(th:text('新增'))").inner_text()
    urban = page.locator("tr", has=page.locator("input[name$='-id'][value='leaderurban']"))
    urban.get_by_label("测试单位 (testunit)").check()
    submit_form(page, "保存", "测试新增单位")
    assert "已保存为版本" in page.locator(".flash").inner_text()
    screenshot(page, "editor-directory-saved")

    directory = load_directory(path)
    assert directory.unit("testunit").name == "测试单位"
    urban = next(leader for leader in directory.leaders if leader.id == "leaderurban")
    assert "testunit" in urban.in_charge_of and "housing" in urban.in_charge_of
    assert engine.get("/group/testunit")["name"] == "测试单位"  # synced into the engine
    page.reload()
    row = page.locator("tr", has=page.locator("input[name$='-id'][value='testunit']"))
    assert row.locator("input[name$='-name']").input_value() == "测试单位"
    urban = page.locator("tr", has=page.locator("input[name$='-id'][value='leaderurban']"))
    assert urban.get_by_label("测试单位 (testunit)").is_checked()
    urban.scroll_into_view_if_needed()
    screenshot(page, "editor-directory-leaders")
