"""Admin pages for the data files the workers read: checked with the workers' own schemas,
previewed, saved in place (the next appeal uses them, no restart), versioned and restorable, and
every change in the audit trail."""
from __future__ import annotations

import html
import re

from tests.admin_console import errors_of
from tests.conftest import wait_until

PROPERTY_SERVICE = ("{code: construction.propertyService, name: 物业服务, department: housing, "
                    "lead: territory, auto_dispatch: true, difficulty: ordinary,")


def edited_taxonomy(settings, old: str, new: str) -> str:
    text = (settings.config_dir / "taxonomy.yaml").read_text("utf-8")
    assert text.count(old) == 1
    return text.replace(old, new)


def lead_unit_of(appeals, number: str) -> str:
    return wait_until(lambda: appeals.status(number)["leadUnit"], timeout=90,
                      what=f"{number} dispatched")


def test_a_routing_change_applies_to_the_next_appeal_and_a_rollback_restores_it(
        settings, console_as, appeals, restore_config):
    admin = console_as(settings.admin_user)
    path = settings.config_dir / "taxonomy.yaml"
    original = path.read_bytes()
    assert lead_unit_of(appeals, appeals.submit()) == "fengcheng"  # territory leads today

    changed = edited_taxonomy(settings, PROPERTY_SERVICE,
                              PROPERTY_SERVICE.replace("lead: territory", "lead: matter"))
    preview = admin.post("/admin/files/taxonomy?raw=1", {
        "content": changed, "action": "preview", "sample-categoryCode": "construction.propertyService",
        "sample-address": "凤城街道某小区"})
    assert preview.status_code == 200, errors_of(preview)
    row = preview.text.split("这条诉求的牵头单位")[1].split("</tr>")[0]
    assert "凤城街道" in row and "县住建局" in row  # now → after the change
    assert path.read_bytes() == original  # a preview saves nothing

    saved = admin.post("/admin/files/taxonomy?raw=1", {
        "content": changed, "action": "save", "reason": "物业服务改由住建局牵头"})
    assert saved.status_code == 302, errors_of(saved)
    assert path.read_text("utf-8") == changed
    assert lead_unit_of(appeals, appeals.submit()) == "housing"  # the next appeal, no restart

    page = admin.get("/admin/files/taxonomy").text
    versions = [int(number) for number in
                re.findall(r"/admin/files/taxonomy/versions/(\d+)", page)]
    earliest = min(versions)  # the file as it was before the console first saved it
    assert html.unescape(admin.get(f"/admin/files/taxonomy/versions/{earliest}").text).count(
        "lead: territory, auto_dispatch: true") >= 1
    restored = admin.post(f"/admin/files/taxonomy/versions/{earliest}/restore",
                          {"reason": "恢复属地牵头"})
    assert restored.status_code == 302, errors_of(restored)
    assert path.read_bytes() == original
    assert lead_unit_of(appeals, appeals.submit()) == "fengcheng"

    audit = html.unescape(admin.get("/admin/audit").text)
    assert "物业服务改由住建局牵头" in audit
    assert f"恢复到版本 {earliest}: 恢复属地牵头" in audit
    assert audit.count(f"<td>{settings.admin_user}</td>") >= 2


def test_an_invalid_entry_is_refused_naming_it_and_the_edit_is_kept(settings, console_as,
                                                                    restore_config):
    admin = console_as(settings.admin_user)
    path = settings.config_dir / "taxonomy.yaml"
    original = path.read_bytes()
    broken = edited_taxonomy(settings, PROPERTY_SERVICE,
                             PROPERTY_SERVICE.replace("department: housing", "department: nosuch"))
    refused = admin.post("/admin/files/taxonomy?raw=1", {
        "content": broken, "action": "save", "reason": "写错的单位编号"})
    assert refused.status_code == 400
    message = errors_of(refused)
    assert "construction.propertyService" in message and "单位目录中没有单位 'nosuch'" in message
    assert "department: nosuch" in html.unescape(refused.text)  # the admin's edit is still there
    assert path.read_bytes() == original
    assert "写错的单位编号" not in admin.get("/admin/audit").text

    no_reason = admin.post("/admin/files/taxonomy?raw=1", {"content": original.decode(),
                                                     "action": "save", "reason": ""})
    assert no_reason.status_code == 400 and "请写明修改原因" in errors_of(no_reason)


def test_a_leader_still_on_the_duty_roster_cannot_be_removed(settings, console_as,
                                                            restore_config):
    admin = console_as(settings.admin_user)
    directory = (settings.config_dir / "directory.yaml").read_text("utf-8")
    line = next(line for line in directory.splitlines() if "{id: leaderurban," in line)
    refused = admin.post("/admin/files/directory?raw=1", {
        "content": directory.replace(line + "\n", ""), "action": "preview"})
    assert refused.status_code == 400
    message = errors_of(refused)
    assert "改动后 duty_roster.yaml 将不再有效" in message and "'leaderurban'" in message


def test_a_new_unit_is_synced_into_the_engine(settings, console_as, engine, restore_config):
    admin = console_as(settings.admin_user)
    directory = (settings.config_dir / "directory.yaml").read_text("utf-8")
    added = directory.replace("units:\n", "units:\n  - {id: admintestunit, name: 测试新增单位, "
                              "kind: department, demo_user: admintestunit01}\n", 1)
    try:
        saved = admin.post("/admin/files/directory?raw=1", {
            "content": added, "action": "save", "reason": "新增测试单位"})
        assert saved.status_code == 302, errors_of(saved)
        assert engine.get("/group/admintestunit")["name"] == "测试新增单位"
        assert engine.get("/group/count", id="admintestunit", member="admintestunit01")["count"] == 1
    finally:
        (settings.config_dir / "directory.yaml").write_text(directory, "utf-8")
        for kind, entry_id in (("user", "admintestunit01"), ("group", "admintestunit")):
            if engine.get(f"/{kind}/count", id=entry_id)["count"]:
                engine.rest("DELETE", f"/{kind}/{entry_id}", expect_json=False)


def test_the_holidays_of_2027_make_2027_deadlines_computable(settings, console_as,
                                                             restore_config):
    admin = console_as(settings.admin_user)
    year_2027 = ("years:\n  - year: 2027\n    holidays:\n"
                 "      - {name: 元旦, date: 2027-01-01}\n"
                 "      - {name: 春节, from: 2027-02-06, to: 2027-02-12}\n"
                 "    workdays:\n      - {name: 春节调休, date: 2027-02-14}\n")
    sample = {"sample-receivedOn": "2027-02-04", "sample-workingDays": "3"}
    preview = admin.post("/admin/files/holidays?raw=1", {"content": year_2027, "action": "preview"}
                         | sample)
    assert preview.status_code == 200, errors_of(preview)
    row = html.unescape(preview.text.split("第 3 个工作日届满")[1].split("</tr>")[0])
    assert "缺少2027年的法定节假日" in row  # now
    assert "2027-02-15 23:59" in row      # after: Feb 5, make-up Sunday Feb 14, Monday Feb 15
    bad = admin.post("/admin/files/holidays?raw=1", {"content": year_2027.replace(
        "2027-02-14", "2027-02-15"), "action": "save", "reason": "调休写成周一"})
    assert bad.status_code == 400
    assert "调休上班日应为周六或周日" in errors_of(bad)
