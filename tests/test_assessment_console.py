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
from assessment.explain import FIGURE_NAMES
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
    # The demo profile counts the synthetic appeals by default, and says so.
    assert sum(row["received"] for row in rows) == 3_000
    assert "合成(模拟)工单 3000 件" in response.json()["synthetic_label"]
    assert all(0 <= row["score"] <= 100 for row in rows if row["score"] is not None)
    csv_response = get("/api/v1/assessment/indicators.csv", year="2025", group="township")
    assert csv_response.headers["Content-Type"].startswith("text/csv")
    text = csv_response.content.decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert "合成(模拟)工单" in lines[0]
    assert lines[1].split(",") == ["unit"] + [header for _, header, _ in INDICATOR_COLUMNS]
    assert len(lines) == 2 + len(rows)
    assert_no_caller(text)
    real = get("/api/v1/assessment/indicators", year="2025", group="township",
               include_synthetic="false").json()
    assert sum(row["received"] for row in real["rows"]) == 0 and real["synthetic_label"] is None
    real_csv = get("/api/v1/assessment/indicators.csv", year="2025", group="township",
                   include_synthetic="false").content.decode("utf-8-sig")
    assert real_csv.startswith("unit,")


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
                                   "突出问题", "激增预警", "未诉先办"] + [
        f"明细-{name}" for name in FIGURE_NAMES.values()] + [
        "明细-综合得分", "明细-突出问题", "明细-激增预警"]
    # Synthetic appeals counted (the demo profile's default): every sheet says so first.
    for sheet in workbook:
        assert "合成(模拟)工单" in sheet["A1"].value, sheet.title
        assert "合成(模拟)工单" in sheet.oddHeader.center.text
    headers = [header for _, header, _ in INDICATOR_COLUMNS]
    for name in ("乡镇(街道)", "部门", "牵头单位", "全县"):
        assert [cell.value for cell in workbook[name][2]] == headers
    county = [cell.value for cell in workbook["全县"][3]]
    assert county[0] == "全县" and county[1] > 150  # about 3,000 / 12 received in June
    assert workbook["全县"].cell(row=3, column=2).hyperlink.location == "'明细-受理件数'!A1"
    assert [cell.value for cell in workbook["突出问题"][2]] == ["诉求分类", "本期件数", "上期件数",
                                                            "环比", "不满意件数"]
    # Each figure's 明细 sheet lists the appeals behind it: its columns add up to the figure.
    figures = dict(zip(headers, county))
    for figure, name in FIGURE_NAMES.items():
        sheet = workbook[f"明细-{name}"]
        columns = [cell.value for cell in sheet[2]]
        assert columns[:3] == ["工单编号", "标题", "牵头单位"] and columns[-1] == "原因"
        sums = {header: sum(row[index] for row in sheet.iter_rows(min_row=3, values_only=True))
                for index, header in enumerate(columns) if header.startswith("计入")}
        if "计入件数" in sums:
            assert sums["计入件数"] == figures[name], name
        elif sums["计入分母"]:
            assert round(sums["计入分子"] / sums["计入分母"], 4) == figures[name], name
    # The score: per unit its rates, weights and points (their sum is the score), each rate
    # linked to its 明细 sheet; 突出问题's counts: the appeals listed under each.
    score_sheet = workbook["明细-综合得分"]
    assert [cell.value for cell in score_sheet[2]][:3] == ["口径", "单位", "指标"]
    county_points = [row for row in score_sheet.iter_rows(min_row=3, values_only=True)
                     if row[0] == "全县"]
    assert len(county_points) == 5
    assert sum(row[6] for row in county_points if row[6] != "—") == pytest.approx(
        figures["综合得分"], abs=0.03)  # each cell rounded to 2 decimals
    assert score_sheet.cell(row=3, column=3).hyperlink.location.startswith("'明细-")
    assert workbook["全县"].cell(row=3, column=len(headers)).hyperlink.location == \
        "'明细-综合得分'!A1"
    problems = list(workbook["突出问题"].iter_rows(min_row=3, values_only=True))
    listed = [row[:2] for row in workbook["明细-突出问题"].iter_rows(min_row=3, values_only=True)]
    for category, appeals, previous, _, unsatisfied in problems:
        assert [listed.count((category, part)) for part in ("本期件数", "上期件数", "不满意件数")] \
            == [appeals, previous, unsatisfied], category
    assert workbook["突出问题"].cell(row=3, column=2).hyperlink.location == "'明细-突出问题'!A1"
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


def test_explain_lists_the_appeals_behind_a_figure(console):
    get, _ = console
    params = {"month": "2025-06", "group": "township", "unit": "yanji"}
    row, = get("/api/v1/assessment/indicators", **params).json()["rows"]
    for figure, (top, bottom) in (("completion_on_time_rate", ("completion_on_time",
                                                               "completion_judged")),
                                  ("redispatch_rate", ("redispatched", "dispatched"))):
        response = get("/api/v1/assessment/indicators/explain", figure=figure, **params)
        assert response.status_code == 200, response.text
        explained = response.json()
        assert explained["value"] == row[f"{figure}"] and "合成" in explained["synthetic_label"]
        numerator, denominator = explained["parts"]
        assert (numerator["total"], denominator["total"]) == (row[top], row[bottom])
        assert len(denominator["appeals"]) == row[bottom]
        assert all(appeal["synthetic"] and appeal["township_name"] == "闫集镇"
                   and appeal["reason"] for appeal in denominator["appeals"])
        assert_no_caller(response.text)
    refused = get("/api/v1/assessment/indicators/explain", figure="rank", **params)
    assert refused.status_code == 400 and list(refused.json()["errors"]) == ["figure"]
    document = get("/api/v1/openapi.json").json()
    operation = document["paths"]["/api/v1/assessment/indicators/explain"]["get"]
    assert {"figure", "group", "unit", "month", "include_synthetic"} <= {
        parameter["name"] for parameter in operation["parameters"]}


def test_score_and_analysis_drill_downs_over_the_api(console):
    """The composite score's components and the 研判 rows' appeals, labelled as synthetic."""
    get, _ = console
    params = {"month": "2025-06", "group": "township", "unit": "yanji"}
    row, = get("/api/v1/assessment/indicators", **params).json()["rows"]
    score = get("/api/v1/assessment/indicators/explain", figure="score", **params)
    assert score.status_code == 200, score.text
    made = score.json()
    assert made["value"] == pytest.approx(row["score"]) and "合成" in made["synthetic_label"]
    assert sum(c["points"] for c in made["components"] if c["counted"]) == \
        pytest.approx(row["score"])
    for component in made["components"]:
        numerator, denominator = component["parts"]
        assert component["value"] == row[component["figure"]]
        assert len(denominator["appeals"]) == denominator["total"]
    period = {"month": "2025-06"}
    analysis = get("/api/v1/assessment/analysis", **period).json()
    problem = analysis["problems"][0]
    explained = get("/api/v1/assessment/analysis/explain", table="problems",
                    category=problem["category_code"], **period)
    assert explained.status_code == 200, explained.text
    parts = {part["part"]: part for part in explained.json()["parts"]}
    assert {name: part["total"] for name, part in parts.items()} == {
        name: problem[name] for name in ("appeals", "previous", "unsatisfied")}
    assert all(appeal["synthetic"] and appeal["category_name"] == problem["category_name"]
               for appeal in parts["appeals"]["appeals"])
    assert "合成" in explained.json()["synthetic_label"]
    assert_no_caller(explained.text)
    week = analysis["weekly"][0]
    weekly = get("/api/v1/assessment/analysis/explain", table="weekly", week=week["week"],
                 township=week["township"] or "", category=week["category_code"] or "", **period)
    assert weekly.json()["value"] == week["appeals"] == len(weekly.json()["parts"][0]["appeals"])
    missing = get("/api/v1/assessment/analysis/explain", table="surges", category="x", **period)
    assert missing.status_code == 400 and list(missing.json()["errors"]) == ["township"]
    real_only = get("/api/v1/assessment/analysis/explain", table="problems",
                    category=problem["category_code"], include_synthetic="false", **period)
    assert real_only.json()["synthetic_label"] is None
    assert all(not appeal["synthetic"] for part in real_only.json()["parts"]
               for appeal in part["appeals"])
    operation = get("/api/v1/openapi.json").json()["paths"][
        "/api/v1/assessment/analysis/explain"]["get"]
    assert {"table", "township", "category", "week", "month", "include_synthetic"} <= {
        parameter["name"] for parameter in operation["parameters"]}
    assert "group" not in {parameter["name"] for parameter in operation["parameters"]}


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
