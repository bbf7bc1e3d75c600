"""Assessment in the console: the API after a sync from the real engine, the bulletin workbook
(sheets and columns), CSV export, the pages, bad input, and no phone number in any output."""
from __future__ import annotations

import io
import re

import pytest
import requests
from openpyxl import load_workbook

from assessment import store
from assessment.bulletin import INDICATOR_COLUMNS
from assessment.synthetic import load_synthetic
from tests.appeal_driver import AppealDriver

#: A mobile number, whole or masked, or a landline; not the digits inside a longer number.
PHONE = re.compile(r"(?<![\d.])(1[3-9]\d{9}|1[3-9]\d\*{4}\d{4}|0\d{2,3}-\d{7,8})(?!\d)")
CALLER_PHONE = "13711112222"
CALLER_NAME = "钱多多"


@pytest.fixture(scope="module")
def console(settings, engine, as_user):
    """The stack's console after an appeal with a caller went through and was synced; plus a
    year of synthetic appeals in the same store, so every report has rows."""
    appeals = AppealDriver(settings, engine, as_user)
    number = appeals.submit(kind="inquiry", answeredOnCall=True, township="zhaozhuang",
                            callerName=CALLER_NAME, callerPhone=CALLER_PHONE,
                            address="赵庄镇人民路8号", answer="已当场解答。")
    appeals.closed(number)
    load_synthetic(store.store_path(settings), 3_000, 2025, progress=False)

    def get(path, **params):
        return requests.get(f"{settings.console_url}{path}", params=params, timeout=60,
                            headers={"Authorization": f"Bearer {settings.api_token}"})
    report = requests.post(f"{settings.console_url}/api/v1/assessment/sync", timeout=300,
                           headers={"Authorization": f"Bearer {settings.api_token}"})
    assert report.status_code == 200, report.text
    assert report.json()["closed"] >= 1
    return get, number


def assert_no_caller(text: str) -> None:
    assert not PHONE.search(text), PHONE.search(text)
    assert CALLER_NAME not in text and CALLER_NAME[0] + "*" not in text


def test_indicators_json_and_csv(console):
    get, number = console
    response = get("/api/v1/assessment/indicators", year="2025", group="township")
    assert response.status_code == 200
    rows = response.json()["rows"]
    assert sum(row["received"] for row in rows) == 3_000
    assert all(0 <= row["score"] <= 100 for row in rows if row["score"] is not None)
    csv_response = get("/api/v1/assessment/indicators.csv", year="2025", group="township")
    assert csv_response.headers["Content-Type"].startswith("text/csv")
    text = csv_response.content.decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].split(",") == ["unit"] + [header for _, header, _ in INDICATOR_COLUMNS]
    assert len(lines) == 1 + len(rows)
    assert_no_caller(text)


def test_the_synced_appeal_is_counted_for_its_day(console):
    get, number = console
    day = f"{number[2:6]}-{number[6:8]}-{number[8:10]}"
    rows = get("/api/v1/assessment/indicators", start=day, end=day, group="township",
               unit="zhaozhuang").json()["rows"]
    assert [row["unit"] for row in rows] == ["zhaozhuang"] and rows[0]["received"] >= 1


def test_bulletin_workbook_has_the_sheets_and_columns(console):
    get, _ = console
    response = get("/api/v1/assessment/bulletin.xlsx", month="2025-06")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["说明", "乡镇(街道)", "部门", "牵头单位", "全县",
                                   "突出问题", "激增预警", "未诉先办"]
    headers = [header for _, header, _ in INDICATOR_COLUMNS]
    for name in ("乡镇(街道)", "部门", "牵头单位", "全县"):
        assert [cell.value for cell in workbook[name][1]] == headers
    county = [cell.value for cell in workbook["全县"][2]]
    assert county[0] == "全县" and county[1] > 150  # about 3,000 / 12 received in June
    assert [cell.value for cell in workbook["突出问题"][1]] == ["诉求分类", "本期件数", "上期件数",
                                                            "环比", "不满意件数"]
    everything = "\n".join(str(cell.value) for sheet in workbook for row in sheet.iter_rows()
                           for cell in row)
    assert "2025-06-01 至 2025-06-30" in everything
    assert_no_caller(everything)


def test_bulletin_and_analysis_json_name_no_caller(console):
    get, number = console
    day = f"{number[2:6]}-{number[6:8]}-{number[8:10]}"
    for path, params in (("/api/v1/assessment/bulletin", {"month": "2025-06"}),
                         ("/api/v1/assessment/analysis", {"year": "2025"}),
                         ("/api/v1/assessment/analysis", {"start": day, "end": day}),
                         ("/api/v1/assessment/indicators", {"start": day, "end": day})):
        response = get(path, **params)
        assert response.status_code == 200, response.text
        assert_no_caller(response.text)
    analysis = get("/api/v1/assessment/analysis", year="2025").json()
    assert analysis["problems"] and analysis["problems"][0]["category_name"]
    assert sum(row["appeals"] for row in analysis["weekly"]) == 3_000  # township × category × week


def test_pages_are_served_to_the_console_login(console, console_as):
    leader = console_as("countyleaders01")
    overview = leader.get("/assessment")
    assert overview.status_code == 200 and "考核与研判" in overview.text
    printable = leader.get("/assessment/bulletin", month="2025-06")
    assert printable.status_code == 200 and 'data-month="2025-06"' in printable.text


REPORTS = ("/api/v1/assessment/indicators", "/api/v1/assessment/indicators.csv")
EVERY_REPORT = REPORTS + ("/api/v1/assessment/bulletin.xlsx", "/api/v1/assessment/analysis")


@pytest.mark.parametrize("params, field, paths", [
    ({}, "period", EVERY_REPORT),
    ({"start": "2025-06-30", "end": "2025-06-01"}, "end", EVERY_REPORT),
    ({"month": "2025-6"}, "month", EVERY_REPORT),
    ({"month": "2025-06", "unit": "atlantis"}, "unit", REPORTS),
    ({"month": "2025-06", "group": "planet"}, "group", REPORTS),
    ({"month": "2025-06", "group": "county", "unit": "yanji"}, "unit", REPORTS),
])
def test_bad_input_is_refused_naming_the_field(console, params, field, paths):
    get, _ = console
    for path in paths:
        response = get(path, **params)
        assert response.status_code == 400, (path, response.text)
        assert list(response.json()["errors"]) == [field], response.json()


def test_reports_need_the_token(settings):
    response = requests.get(f"{settings.console_url}/api/v1/assessment/indicators",
                            params={"month": "2025-06"}, timeout=30)
    assert response.status_code == 401
