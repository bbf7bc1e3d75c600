"""分类建议: the classifier learns from examples we write, model files are versioned, a bad or
missing model falls back to keyword suggestions with a warning, and `suban suggest train`
learns from the closed appeals on the real engine."""
from __future__ import annotations

import csv
import datetime as dt
import logging
import pickle

import shutil

import pytest
import yaml

from admin_data.environment import REPO_ROOT, Settings
from admin_data.hotline import HotlineSettingsError, load_hotline_settings
from admin_data.taxonomy import TAXONOMY, TaxonomyError, load_taxonomy
from admin_data.workdays import SHANGHAI
from deploy.deployment import deploy
from external_tasks import category_suggester, daily_run, suggester_retrain
from external_tasks.camunda import EngineClient, from_typed, parse_engine_date
from external_tasks.runtime import TaskRouter
from external_tasks.category_suggester import (
    KEPT_MODELS, Example, TextClassifier, appeal_text, category_model_files, save_model, suggest,
    suggest_categories, taxonomy_examples)
from tests.appeal_driver import unique_phone
from tests.conftest import wait_until
from tests.helpers import INTAKE_APPEAL, TIPDM_DIR, run_daily_process_now, run_suban

#: A small county of our own: three leaves, a few appeals each, as callers put them.
FIXTURE = {
    "labour.wageArrears": ["老板拖欠我们三个月工资不给", "工地包工头欠农民工工资跑了", "公司半年没发工资了",
                           "讨薪无门，厂里一直拖着工资", "干了一年活老板不结工钱"],
    "environment.cateringFumes": ["楼下饭店油烟直排进我家", "烧烤店油烟太大熏得睡不着", "餐馆排烟管道对着居民窗户",
                                  "小吃店没有油烟净化器，满楼道油烟味", "饭店厨房的油烟把墙都熏黑了"],
    "education.admission": ["孩子划片入学被分到很远的学校", "幼儿园报名名额太少报不上", "转学手续学校一直不给办",
                            "小学招生不公开，学位不够", "孩子入学要求提供的材料太多"],
}
UNSEEN = [("labour.wageArrears", "欠薪", "我在工厂干了八个月，老板一分钱工资都没发"),
          ("environment.cateringFumes", "油烟", "隔壁饭店油烟熏人，窗户都不敢开"),
          ("education.admission", "上学", "孩子明年上小学，划片学校的学位不够怎么办")]


def fixture_examples() -> list[Example]:
    return [Example(appeal_text(None, text), code) for code, texts in FIXTURE.items() for text in texts]


@pytest.fixture(scope="module")
def fixture_classifier() -> TextClassifier:
    return TextClassifier.fit(fixture_examples())


def test_a_classifier_trained_on_our_fixture_suggests_the_right_leaf(tmp_path, fixture_classifier):
    save_model(tmp_path, fixture_classifier, examples=15, from_appeals=15)
    for code, title, content in UNSEEN:
        found = suggest(title, content, top=3, folder=tmp_path)
        assert found.warning is None and found.model is not None
        assert found.categories[0][0] == code
        confidences = [confidence for _, confidence in found.categories]
        assert confidences == sorted(confidences, reverse=True)
        assert 0 < sum(confidences) <= 1.001
    assert len(suggest("欠薪", "拖欠工资", top=2, folder=tmp_path).categories) == 2


def test_self_training_adds_the_texts_it_is_sure_of(fixture_classifier):
    texts = ["饭店油烟直排，油烟熏人", "今天天气不错"]
    best = fixture_classifier.probabilities(texts).max(axis=1)
    assert best[0] > best[1]
    sure = fixture_classifier.confident(texts, threshold=best[0])
    assert sure == [Example(texts[0], "environment.cateringFumes")]
    refined = TextClassifier.fit(fixture_examples(), ["小区门口新开的烧烤摊油烟熏人"],
                                 self_training_rounds=1)
    assert refined.ranked("烧烤摊熏人")[0][0] == "environment.cateringFumes"


def test_training_needs_two_categories():
    with pytest.raises(ValueError, match="至少需要两个分类"):
        TextClassifier.fit([Example("拖欠工资", "labour.wageArrears")])


def test_model_versions_are_named_by_date_and_size_and_the_newest_is_used(tmp_path, fixture_classifier):
    start = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.timezone.utc)
    for day in range(KEPT_MODELS + 2):
        save_model(tmp_path, fixture_classifier, examples=100 + day, from_appeals=day,
                   now=start + dt.timedelta(days=day))
    files = category_model_files(tmp_path)
    assert len(files) == KEPT_MODELS  # the oldest were removed
    assert files[0].name == f"category-model-20261207T080000Z-{100 + KEPT_MODELS + 1}.pkl"
    used = suggest("欠薪", "拖欠工资", folder=tmp_path).model
    assert (used.path, used.examples, used.trained_at) == (files[0], 106, start + dt.timedelta(days=6))
    newer = save_model(tmp_path, TextClassifier.fit(fixture_examples()[:10]), examples=10, from_appeals=0,
                       now=start + dt.timedelta(days=30))
    assert suggest("欠薪", "拖欠工资", folder=tmp_path).model.path == newer.path  # no restart needed


def test_a_missing_model_degrades_to_keywords_with_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        found = suggest("油烟扰民", "楼下饭店油烟太大", folder=tmp_path / "none")
    assert found.model is None
    assert found.categories[0][0] == "environment.cateringFumes"
    assert "还没有分类建议模型" in found.warning and "关键词" in found.warning
    assert found.warning in caplog.text


@pytest.mark.parametrize("damage", ["truncated", "garbage", "other library"])
def test_a_bad_model_degrades_to_keywords_and_never_fails(tmp_path, fixture_classifier, damage, caplog):
    info = save_model(tmp_path, fixture_classifier, examples=15, from_appeals=15)
    if damage == "truncated":
        info.path.write_bytes(info.path.read_bytes()[:1000])
    elif damage == "garbage":
        info.path.write_bytes(b"not a model at all")
    else:
        stored = pickle.loads(info.path.read_bytes())
        stored["info"]["library"] = "0.0.0"
        info.path.write_bytes(pickle.dumps(stored))
    with caplog.at_level(logging.WARNING):
        found = suggest("欠薪", "老板拖欠工资不给", folder=tmp_path)
    assert found.model is None and info.path.name in found.warning
    assert found.categories[0][0] == "labour.wageArrears"
    assert info.path.name in caplog.text


def test_a_newer_model_that_does_not_load_leaves_the_one_before_in_use(tmp_path, fixture_classifier,
                                                                       caplog):
    good = save_model(tmp_path, fixture_classifier, examples=15, from_appeals=15,
                      now=dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc))
    bad = tmp_path / "category-model-20261202T000000Z-15.pkl"
    bad.write_bytes(b"half a model")
    with caplog.at_level(logging.WARNING):
        found = suggest("欠薪", "老板拖欠工资不给", folder=tmp_path)
    assert found.model.path == good.path and found.warning is None
    assert found.categories[0][0] == "labour.wageArrears"
    assert bad.name in caplog.text and good.path.name in caplog.text


def test_a_model_that_cannot_score_degrades_to_keywords(tmp_path, fixture_classifier, monkeypatch):
    info = save_model(tmp_path, fixture_classifier, examples=15, from_appeals=15)
    suggest("欠薪", "老板拖欠工资", folder=tmp_path)  # loaded and cached
    monkeypatch.setattr(TextClassifier, "ranked", lambda self, text: 1 / 0)
    found = suggest("欠薪", "老板拖欠工资不给", folder=tmp_path)
    assert found.model is None and info.path.name in found.warning
    assert found.categories[0][0] == "labour.wageArrears"


def test_nothing_recognisable_suggests_nothing_rather_than_failing(tmp_path):
    assert suggest("", "", folder=tmp_path).categories == []


def test_every_shipped_leaf_has_keywords_and_an_example():
    for leaf in TAXONOMY.current().leaves:
        assert len(leaf.keywords) >= 3 and leaf.examples, leaf.code


DAY_ONE = [("environment.cateringFumes", "油烟扰民", "楼下烧烤店油烟太大，家里窗户都不敢开"),
           ("labour.wageArrears", "欠薪", "工地老板欠我们两个月工资"),
           ("education.admission", "入学", "孩子上小学划片分到了很远的学校"),
           ("citymgmt.municipalFacilities", "井盖", "路口的井盖丢了，晚上很危险"),
           ("utilities.water", "停水", "我们小区停水两天了"),
           ("legal.publicSecurity", "遛狗", "小区里很多人遛狗不拴绳")]


def test_a_new_install_suggests_sensibly_from_the_taxonomy_alone(tmp_path):
    save_model(tmp_path, TextClassifier.fit(taxonomy_examples(TAXONOMY.current())),
               examples=0, from_appeals=0)
    for code, title, content in DAY_ONE:
        assert code in [leaf for leaf, _ in suggest(title, content, folder=tmp_path).categories], title


def test_suggest_categories_reads_the_data_folder_of_the_settings(tmp_path, monkeypatch, fixture_classifier):
    monkeypatch.setenv("SUBAN_DATA_DIR", str(tmp_path))
    save_model(category_suggester.model_folder(Settings.from_env()), fixture_classifier, 15, 15)
    assert suggest_categories("欠薪", "老板拖欠我工资")[0][0] == "labour.wageArrears"


def test_keywords_and_examples_are_checked_in_the_taxonomy_file(tmp_path):
    text = TAXONOMY.path().read_text("utf-8").replace(
        "keywords: [物业, 物业费,", "keywords: [物业, 123,", 1)
    path = tmp_path / "taxonomy.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(TaxonomyError, match=r"（construction.propertyService）\.keywords\[1\]: 应为文字"):
        load_taxonomy(path)


# -- the command and the engine --------------------------------------------------------------

def test_suban_suggest_train_learns_from_closed_appeals_on_the_engine(settings, engine, appeals, tmp_path):
    title, content = "饭店油烟怎么管", "街口新开的饭店油烟熏得整条街都是，归哪个部门管"
    # answered on the call: closed at once. A busy machine may queue the intake (202)
    response = appeals.post(INTAKE_APPEAL | {
        "kind": "inquiry", "categoryCode": "environment.cateringFumes", "title": title,
        "content": content, "callerPhone": unique_phone(), "answeredOnCall": True,
        "answer": "餐饮油烟由县城管局受理。"})
    assert response.status_code in (201, 202), response.text
    wait_until(lambda: engine.get("/history/process-instance", finished="true",
                                  processInstanceBusinessKey=response.json()["appealNumber"]),
               timeout=120, what="the inquiry to close")
    examples = category_suggester.closed_appeal_examples(engine, TAXONOMY.current())
    assert Example(appeal_text(title, content), "environment.cateringFumes") in examples
    data_dir = tmp_path / "data"
    env = {"SUBAN_DATA_DIR": str(data_dir)}
    trained = run_suban(settings, "suggest", "train", env=env)
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert f"{len(examples)} of them closed appeals" in trained.stdout + trained.stderr
    listed = run_suban(settings, "suggest", "models", env=env)
    (model,) = category_model_files(data_dir / "suggester")
    assert model.name in listed.stdout + listed.stderr
    assert suggest(title, content, folder=model.parent).categories[0][0] == "environment.cateringFumes"


# -- real messages (measured in bench/category_suggester.py) -----------------------------------

def test_day_one_model_ranks_the_right_top_level_class_among_three_on_real_messages(tmp_path):
    if not TIPDM_DIR.is_dir():
        pytest.skip(f"TipDM reference messages not found at {TIPDM_DIR}")
    with (TIPDM_DIR / "sample_messages.csv").open(encoding="utf-8") as file:
        messages = list(csv.DictReader(file))
    taxonomy = TAXONOMY.current()
    references = {leaf.code: category.reference_categories
                  for category in taxonomy.categories for leaf in category.leaves}
    save_model(tmp_path, TextClassifier.fit(taxonomy_examples(taxonomy)), examples=0, from_appeals=0)
    hits = sum(any(m["category"] in references[code] for code, _ in
                   suggest(m["title"], m["detail"], folder=tmp_path).categories) for m in messages)
    print(f"\nday one: right top-level class among the 3 leaves suggested: {hits}/{len(messages)}")
    assert hits / len(messages) >= 0.7


# -- the nightly retrain (bpmn/hotline_suggester_retrain.bpmn) ---------------------------------

RETRAIN_MODEL = REPO_ROOT / "bpmn" / "hotline_suggester_retrain.bpmn"
TEST_RETRAIN = "test_suggester_retrain"


@pytest.mark.parametrize("trained, night, every_days, due", [
    (None, "2026-12-04", 7, True),                          # no usable model: train
    ("2026-11-27T16:00:00+00:00", "2026-12-04", 7, False),  # 28 Nov 00:00 in Beijing: 6 days
    ("2026-11-27T15:59:00+00:00", "2026-12-04", 7, True),   # 27 Nov 23:59 in Beijing: 7 days
    ("2026-11-28T03:00:00+00:00", "2026-12-04", 7, False),  # 28 Nov: 6 days
    ("2026-12-03T18:31:00+00:00", "2026-12-04", 1, False),  # trained this night (02:31 Beijing)
    ("2026-12-02T18:31:00+00:00", "2026-12-04", 1, True),
])
def test_a_model_is_due_again_after_the_set_number_of_beijing_days(trained, night, every_days, due):
    trained_at = dt.datetime.fromisoformat(trained) if trained else None
    assert suggester_retrain.retrain_due(trained_at, dt.date.fromisoformat(night), every_days) is due


def test_the_retrain_interval_is_a_checked_admin_setting(tmp_path):
    shipped = yaml.safe_load((REPO_ROOT / "admin_data" / "files" / "hotline.yaml").read_text("utf-8"))
    assert load_hotline_settings(REPO_ROOT / "admin_data" / "files" / "hotline.yaml")[
        "suggester"]["retrain_every_days"] == shipped["suggester"]["retrain_every_days"] == 7
    path = tmp_path / "hotline.yaml"
    path.write_text(yaml.safe_dump(shipped | {"suggester": {"retrain_every_days": 0}}), "utf-8")
    with pytest.raises(HotlineSettingsError, match="retrain_every_days.*应为 1 到 90 天"):
        load_hotline_settings(path)
    del shipped["suggester"]  # a file written before the setting: the default
    path.write_text(yaml.safe_dump(shipped), "utf-8")
    assert load_hotline_settings(path)["suggester"]["retrain_every_days"] == 7


@pytest.fixture
def retrain_process(engine, tmp_path):
    """The shipped retrain process under a key of its own: the stack's workers leave it alone."""
    path = tmp_path / f"{TEST_RETRAIN}.bpmn"
    path.write_text(RETRAIN_MODEL.read_text("utf-8").replace(
        '"hotline_suggester_retrain"', f'"{TEST_RETRAIN}"'), "utf-8")
    deploy(engine, [path], root=tmp_path, name="suban-tests-suggester-retrain")
    return TEST_RETRAIN


def fire_retrain_timer(engine: EngineClient) -> str:
    """Fire the retrain's timer start (midnight) and then its run time through the job API; the
    id of the instance it started."""
    started = {i["id"] for i in engine.get("/history/process-instance", processDefinitionKey=TEST_RETRAIN)}
    [job] = engine.get("/job", processDefinitionKey=TEST_RETRAIN, timers="true")
    engine.post(f"/job/{job['id']}/execute")
    [new] = [i["id"] for i in engine.get("/history/process-instance", processDefinitionKey=TEST_RETRAIN)
             if i["id"] not in started]
    run_daily_process_now(engine, new)
    return new


def finished_variables(engine: EngineClient, instance_id: str) -> dict:
    wait_until(lambda: engine.get(f"/history/process-instance/{instance_id}")["state"] == "COMPLETED",
               timeout=180, what="the retrain process to end")
    return {v["name"]: from_typed(v) for v in engine.get(
        "/history/variable-instance", processInstanceId=instance_id, deserializeValues="false")}


def test_the_nightly_retrain_keeps_the_last_model_on_failure_and_trains_when_due(
        settings, engine, retrain_process, run_worker, fixture_classifier, tmp_path, monkeypatch):
    config = tmp_path / "config"
    shutil.copytree(settings.config_dir, config)
    hotline = config / "hotline.yaml"
    hotline.write_text(hotline.read_text("utf-8").replace("retrain_every_days: 7",
                                                          "retrain_every_days: 3"), "utf-8")
    monkeypatch.setenv("SUBAN_CONFIG_DIR", str(config))  # what the worker in this process reads
    monkeypatch.setenv("SUBAN_DATA_DIR", str(tmp_path / "data"))
    folder = category_suggester.model_folder()
    old = save_model(folder, fixture_classifier, examples=15, from_appeals=15,
                     now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3))
    router = TaskRouter()
    for topics in (daily_run.router, suggester_retrain.router):
        router.include(topics)
    run_worker(router, process_definition_keys=(retrain_process,))

    with monkeypatch.context() as failing:  # e.g. the disk is full: nothing is written
        failing.setattr(TextClassifier, "fit", classmethod(lambda cls, *args, **kwargs: 1 / 0))
        failed = fire_retrain_timer(engine)
        [incident] = wait_until(lambda: engine.get("/incident", processInstanceId=failed),
                                timeout=120, what="an incident at the failed training")
        assert incident["activityId"] == "Task_TrainSuggester"
        assert category_model_files(folder) == [old.path]
        assert suggest("欠薪", "老板拖欠工资不给").model.path == old.path  # still in use

    # The admin retries the incident (Cockpit): the training runs again and succeeds.
    [task] = engine.get("/external-task", processInstanceId=failed)
    engine.rest("PUT", f"/external-task/{task['id']}/retries", json={"retries": 1})
    trained = finished_variables(engine, failed)
    newest = category_model_files(folder)[0]
    assert trained["suggesterModel"] == newest.name != old.path.name
    assert "已训练" in trained["suggesterTraining"]
    used = suggest("油烟", "楼下饭店油烟太大").model  # the next suggestion, no restart
    assert used.path == newest and used.examples > old.examples
    assert used.trained_at.astimezone(SHANGHAI).date() == dt.datetime.now(SHANGHAI).date()

    # The next night (fired again now): trained this night already, not due for 3 days.
    skipped = finished_variables(engine, fire_retrain_timer(engine))
    assert skipped["suggesterModel"] == newest.name
    assert "未到重训日期（每 3 天一次" in skipped["suggesterTraining"]
    assert category_model_files(folder)[0] == newest


def test_the_shipped_retrain_starts_at_midnight_in_shanghai(engine):
    """At midnight, then it waits for hotline.yaml daily.suggester_retrain (02:30)."""
    [job] = engine.get("/job", processDefinitionKey="hotline_suggester_retrain", timers="true")
    due = parse_engine_date(job["dueDate"]).astimezone(SHANGHAI)
    assert (due.hour, due.minute) == (0, 0)
    assert dt.timedelta(0) < due - dt.datetime.now(SHANGHAI) <= dt.timedelta(days=1)
