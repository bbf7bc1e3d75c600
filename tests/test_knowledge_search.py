"""The knowledge base's storage and search, without a stack: ranking of questions as callers ask
them over the demo entries, versions and publishing, expiry and gaps."""
from __future__ import annotations

import datetime as dt

import pytest
import yaml

from admin_data.directory import DIRECTORY
from admin_data.taxonomy import TAXONOMY
from console.knowledge.store import (DEMO_FILE, DRAFT, EXPIRED, PUBLISHED, KnowledgeBase,
                                     KnowledgeError, bigram_terms)

TODAY = dt.date(2026, 12, 4)

#: (what a caller says, a word of the question of the entry that answers it)
CALLER_QUESTIONS = [
    ("我没单位，想自己交社保怎么弄", "灵活就业"),
    ("我下个月到年龄了，退休要办啥手续", "退休需要办理"),
    ("社保卡弄丢了咋办", "社保卡丢了"),
    ("农村的养老保险一年交多少钱", "城乡居民养老保险"),
    ("厂里把我辞退了能领失业金不", "失业保险金"),
    ("今年的医保在哪交", "城乡居民医保"),
    ("我妈在上海住院，医保能报吗", "外地住院"),
    ("高血压的慢病卡怎么办", "门诊慢特病"),
    ("孩子刚生下来怎么上户口", "新生儿"),
    ("身份证丢了去哪补", "身份证丢了"),
    ("在县城买了房想把户口迁过来", "户口迁入"),
    ("买的二手房怎么过户办房本", "二手房"),
    ("开发商一直不给办房产证", "开发商不给办"),
    ("房贷还完了怎么解押", "注销抵押"),
    ("孩子明年上一年级在哪报名", "上小学"),
    ("我们是外地来打工的，孩子能在这上学吗", "外地户口的孩子"),
    ("小区停水了啥时候来水", "停水"),
    ("家里自来水发黄", "水质发黄"),
    ("突然停电了找谁修", "停电"),
    ("这个月电费怎么这么高", "电费"),
    ("厨房里一股煤气味", "燃气味"),
    ("家里困难想吃低保", "低保"),
    ("老人八十多了有补贴吗", "高龄津贴"),
    ("老板拖着工资不给", "拖欠工资"),
    ("上班一年了公司也没跟我签合同", "没有签劳动合同"),
    ("想开个小店办执照", "营业执照"),
    ("网上买的东西坏了商家不给退", "质量问题"),
    ("驾照快到期了", "驾驶证到期"),
    ("种地补贴今年怎么还没发", "耕地地力保护补贴"),
    ("农村老房子想翻建要批吗", "宅基地建房"),
]


@pytest.fixture
def knowledge(tmp_path) -> KnowledgeBase:
    base = KnowledgeBase(tmp_path / "knowledge.sqlite")
    base.load_demo(today=TODAY)
    return base


def content(**changes) -> dict:
    return {"question": "医保电子凭证怎么激活？", "answer": "在国家医保服务平台 APP 激活。",
            "keywords": "医保码,电子医保", "category": "labour.medicalInsurance",
            "policy_doc": "", "policy_url": "", "valid_from": "2026-01-01",
            "valid_until": "2027-12-31"} | changes


@pytest.mark.parametrize("said, expected", CALLER_QUESTIONS, ids=[q for q, _ in CALLER_QUESTIONS])
def test_the_entry_a_caller_needs_is_among_the_first_three(knowledge, said, expected):
    hits = knowledge.search(said, today=TODAY, limit=3)
    assert any(expected in hit.question for hit in hits), [hit.question for hit in hits]


def test_demo_entries_are_many_marked_and_name_real_categories_and_units():
    entries = yaml.safe_load(DEMO_FILE.read_text("utf-8"))
    assert len(entries) >= 30
    leaves = {leaf.code for leaf in TAXONOMY.current().leaves}
    units = {unit.id for unit in DIRECTORY.current().units}
    assert {entry["category"] for entry in entries} <= leaves
    assert {entry["unit"] for entry in entries} <= units


def test_demo_entries_load_published_and_marked_demo(knowledge):
    entries = knowledge.entries()
    assert len(entries) >= 30 and all(entry["demo"] for entry in entries)
    assert {entry["status"] for entry in entries} == {PUBLISHED}
    assert knowledge.load_demo(today=TODAY) == 0  # never twice


def test_a_category_filters_and_boosts(knowledge):
    hits = knowledge.search("补办", category="legal", today=TODAY)
    assert hits and {hit.category for hit in hits} == {"legal.householdRegistration"}
    boosted = knowledge.search("丢了怎么补办", boost_category="labour.socialInsurance",
                               today=TODAY)
    assert boosted[0].category == "labour.socialInsurance"
    plain = knowledge.search("丢了怎么补办", boost_category="legal.householdRegistration",
                             today=TODAY)
    assert plain[0].category == "legal.householdRegistration"


def test_an_edit_waits_for_the_centre_and_keeps_every_version(tmp_path):
    base = KnowledgeBase(tmp_path / "knowledge.sqlite")
    entry_id = base.create("medicalinsurance", content(), "medicalinsurance01")
    assert base.entry(entry_id)["status"] == DRAFT
    assert base.search("医保码", today=TODAY) == []  # a draft is not shown
    base.publish(entry_id, 1, "hotline01")
    assert [hit.version for hit in base.search("医保码", today=TODAY)] == [1]
    version = base.update(entry_id, content(answer="微信或支付宝搜索医保码激活。"),
                          "medicalinsurance01", base_version=1)
    assert version == 2
    hit, = base.search("医保码", today=TODAY)
    assert (hit.version, hit.answer) == (1, "在国家医保服务平台 APP 激活。")  # until published
    entry = base.entry(entry_id)
    assert entry["pending_review"] and [v["version"] for v in entry["versions"]] == [2, 1]
    base.publish(entry_id, 2, "hotline01")
    hit, = base.search("医保码", today=TODAY)
    assert (hit.version, hit.answer) == (2, "微信或支付宝搜索医保码激活。")
    assert base.published_version(entry_id, 1)["answer"] == "在国家医保服务平台 APP 激活。"


def test_a_stale_edit_is_refused_naming_the_version(tmp_path):
    base = KnowledgeBase(tmp_path / "knowledge.sqlite")
    entry_id = base.create("medicalinsurance", content(), "medicalinsurance01")
    base.update(entry_id, content(answer="一"), "medicalinsurance01", base_version=1)
    with pytest.raises(KnowledgeError) as refused:
        base.update(entry_id, content(answer="二"), "medicalinsurance02", base_version=1)
    assert refused.value.field == "base_version" and "第 2 版" in str(refused.value)


def test_expired_entries_are_never_found_and_listed_before_they_expire(tmp_path):
    base = KnowledgeBase(tmp_path / "knowledge.sqlite")
    entry_id = base.create("medicalinsurance", content(valid_until="2026-12-20"), "m")
    base.publish(entry_id, 1, "hotline01")
    assert [e["id"] for e in base.expiring("medicalinsurance", today=TODAY)] == [entry_id]
    assert base.expiring("medicalinsurance", today=TODAY - dt.timedelta(days=60)) == []
    assert base.search("医保码", today=dt.date(2026, 12, 20))
    assert base.search("医保码", today=dt.date(2026, 12, 21)) == []
    assert base.entries()[0]["status"] in (PUBLISHED, EXPIRED)


def test_searches_that_found_nothing_are_gaps_of_their_category(knowledge):
    assert knowledge.search("公积金提取", boost_category="construction.realEstate",
                            today=TODAY) == []
    knowledge.search("公积金提取", boost_category="construction.realEstate", today=TODAY)
    knowledge.search("停水", today=TODAY)  # found: no gap
    gap, = knowledge.gaps()
    assert (gap["category"], gap["query"], gap["times"]) == (
        "construction.realEstate", "公积金提取", 2)
    assert knowledge.gaps({"utilities.water"}) == []


def test_chinese_is_cut_into_bigrams():
    assert bigram_terms("社保卡 丢了, 12345热线") == ["社保", "保卡", "丢了", "12345", "热线"]
