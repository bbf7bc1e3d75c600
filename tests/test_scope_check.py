"""受理范围: emergencies and excluded matters are flagged, ordinary appeals are not."""
import csv

import pytest

from external_tasks import scope_check
from external_tasks.camunda import from_typed
from external_tasks.scope_check import EMERGENCY, EXCLUDED, IN_SCOPE, IN_SCOPE_REASON, check_appeal
from admin_data.scope_rules import ScopeRulesError, load_scope_rules
from tests.conftest import wait_until
from tests.helpers import TIPDM_DIR

#: Real labelled citizen messages (2020 TipDM Cup C); read in place, never copied into the project.

EXCLUDED_MATTERS = {"litigation", "arbitration", "discipline", "reconsideration", "petition",
                    "statesecret", "tradesecret", "privacy", "publicorder"}
EMERGENCIES = {"police110": "110", "fire119": "119", "medical120": "120", "traffic122": "122"}


@pytest.fixture(scope="module")
def rules():
    return load_scope_rules()


def test_shipped_rules_cover_every_matter_of_the_plan(rules):
    codes = {matter.code for matter in rules.matters}
    assert codes == EXCLUDED_MATTERS | set(EMERGENCIES)
    for matter in rules.matters:
        assert matter.reason and matter.referral
        assert (matter.kind == EMERGENCY) == (matter.code in EMERGENCIES)
        assert matter.transfer_to == EMERGENCIES.get(matter.code)


FLAGGED = [
    ("police110", "help", "有人打架", "我家楼下烧烤店门口现在有人打架，好几个人拿着酒瓶互砸，快派人来"),
    ("police110", "help", "持刀", "有个男的拿着刀在小区门口追着人砍，请赶快来"),
    ("police110", "help", "有人要跳楼", "小区7号楼有个女的站在楼顶上要跳楼，情绪很激动"),
    ("police110", "help", "入室盗窃", "刚才有人撬门入室偷东西，人还在屋里"),
    ("fire119", "help", "着火了", "镇上街边一家饭店着火了，火势很大，里面还有人"),
    ("fire119", "inquiry", "燃气泄漏", "我家厨房燃气泄漏，闻到很浓的煤气味，怎么办"),
    ("fire119", "help", "电梯困人", "我和孩子被困在电梯里出不去了，物业电话打不通"),
    ("medical120", "help", "老人晕倒", "我父亲刚才在家里突然晕倒了，叫不醒"),
    ("medical120", "help", "喝农药", "邻居家孩子喝了农药，现在口吐白沫"),
    ("traffic122", "help", "车祸", "国道边刚刚发生车祸，两辆车相撞，有人受伤倒地流血"),
    ("litigation", "complaint", "开发商纠纷", "我已经向法院起诉开发商，现在法院已经立案，请热线督促法院尽快判决"),
    ("litigation", "complaint", "判决不执行", "法院判决对方还我钱，判决书生效半年了，对方拒不执行判决"),
    ("arbitration", "complaint", "欠薪仲裁", "我已经申请劳动仲裁，仲裁委迟迟不开庭，老板还是不给工资"),
    ("arbitration", "complaint", "仲裁裁决", "仲裁裁决书下来了，公司不服要去法院"),
    ("discipline", "report", "村支书贪污", "举报我们村支书贪污扶贫款，还收受好处费"),
    ("discipline", "report", "干部吃拿卡要", "镇里有个干部办事吃拿卡要，不给好处不办事"),
    ("discipline", "report", "公车私用", "某局长周末公车私用，拉着家人去钓鱼"),
    ("reconsideration", "complaint", "不服处罚", "我不服交警作出的处罚决定，要求撤销行政处罚"),
    ("reconsideration", "complaint", "复议无答复", "我对县里的决定申请了行政复议，复议机关一直没有答复"),
    ("petition", "complaint", "信访未果", "这个事情我已经信访了三次，信访局给了答复意见书，我不满意"),
    ("petition", "complaint", "上访", "我们村民多次上访，到现在也没有结果"),
    ("statesecret", "report", "涉密文件", "我捡到一份盖着机密字样的涉密文件，里面是部队的资料"),
    ("tradesecret", "complaint", "技术员跳槽", "原来的技术员跳槽到对手公司，把我们的配方和客户名单都带走了，侵犯我们的商业秘密"),
    ("privacy", "help", "查前妻住址", "请帮我查一下我前妻的住址和手机号，她带着孩子跑了"),
    ("privacy", "help", "查开房记录", "能不能帮我查查我老公的开房记录"),
    ("publicorder", "help", "讨赌债", "有人欠我赌债五万块不还，请政府帮我讨要赌债"),
    ("publicorder", "inquiry", "代孕", "想咨询一下县里哪里可以做代孕"),
]


@pytest.mark.parametrize("code, kind, title, content", FLAGGED,
                         ids=[f"{case[0]}-{case[2]}" for case in FLAGGED])
def test_emergencies_and_excluded_matters_are_caught(rules, code, kind, title, content):
    variables = check_appeal(title, content, kind, rules).to_variables()
    assert code in variables["scopeMatters"]
    assert variables["scopeFlag"] == (EMERGENCY if code in EMERGENCIES else EXCLUDED)
    matter = rules.matter(code)
    assert matter.reason in variables["scopeReason"]
    assert matter.referral in variables["scopeReferral"]
    assert any(evidence.startswith(matter.name) for evidence in variables["scopeEvidence"])
    if code in EMERGENCIES:
        assert EMERGENCIES[code] in variables["scopeTransferTo"]


IN_SCOPE_APPEALS = [
    # An inquiry about the procedure is answered on the call: the answer is where to go.
    ("inquiry", "劳动仲裁咨询", "咨询如何申请劳动仲裁，需要什么材料"),
    ("inquiry", "行政复议", "请问对交警处罚不服可以申请行政复议吗，去哪里申请"),
    ("complaint", "拖欠工资", "公司拖欠我三个月工资，老板一直拖着不给，请劳动监察部门处理"),
    ("complaint", "消防隐患", "小区消防通道被车辆堵塞，存在严重火灾隐患"),
    ("suggestion", "路口", "这个路口经常发生车祸，多次有人受伤，建议安装红绿灯"),
    ("complaint", "信息泄露", "我的手机号被泄露了，每天接到很多骚扰电话"),
    ("report", "赌博", "举报村里有人聚众赌博"),
    ("complaint", "油烟", "楼下饭店油烟排放，浓烟滚滚"),
    ("complaint", "交通", "随着火车站开通，门前道路车流量猛增"),
    ("complaint", "部门推诿", "人社局让我们去申请仲裁，可是劳动监察明明可以管"),
]


@pytest.mark.parametrize("kind, title, content", IN_SCOPE_APPEALS,
                         ids=[case[1] for case in IN_SCOPE_APPEALS])
def test_ordinary_appeals_are_in_scope(rules, kind, title, content):
    assert check_appeal(title, content, kind, rules).to_variables() == {
        "scopeFlag": IN_SCOPE, "scopeMatters": [], "scopeReason": IN_SCOPE_REASON,
        "scopeReferral": "", "scopeTransferTo": [], "scopeEvidence": []}


def test_a_procedure_the_caller_is_in_is_flagged_even_when_asked_as_a_question(rules):
    result = check_appeal("仲裁", "我已经申请劳动仲裁三个月了，仲裁委一直不开庭，怎么办", "inquiry", rules)
    assert [finding.matter.code for finding in result.findings] == ["arbitration"]


def test_past_events_are_not_emergencies(rules):
    result = check_appeal("赔偿", "去年我家门口发生车祸，我被撞受伤，到现在保险公司还没赔偿", "complaint", rules)
    assert result.flag == IN_SCOPE


def test_an_emergency_outranks_an_excluded_matter_and_comes_first(rules):
    variables = check_appeal(
        "讨薪", "我已经申请了劳动仲裁。现在工地上有人拿着刀威胁我们", "complaint", rules).to_variables()
    assert variables["scopeFlag"] == EMERGENCY
    assert variables["scopeMatters"] == ["police110", "arbitration"]
    assert variables["scopeTransferTo"] == ["110"]
    assert variables["scopeReason"].startswith(rules.matter("police110").reason)


def tipdm_messages() -> dict[str, list[dict]]:
    if not TIPDM_DIR.is_dir():
        pytest.skip(f"TipDM reference messages not found at {TIPDM_DIR}")
    sets = {}
    for name in ("sample_messages.csv", "messages_with_replies.csv"):
        with (TIPDM_DIR / name).open(encoding="utf-8") as file:
            sets[name] = list(csv.DictReader(file))
    return sets


def test_false_alarm_rate_on_real_ordinary_appeals(rules):
    """Every TipDM message is a real appeal a government answered. A few cite a court case,
    an arbitration, 纪委 or 信访 and would rightly go to review; all flags count as false here."""
    flagged = emergencies = total = 0
    for name, messages in tipdm_messages().items():
        results = [check_appeal(m["title"], m["detail"], None, rules) for m in messages]
        set_flagged = sum(1 for result in results if result.findings)
        emergencies += sum(1 for result in results if result.flag == EMERGENCY)
        flagged += set_flagged
        total += len(messages)
        print(f"\n{name}: {set_flagged}/{len(messages)} flagged ({set_flagged / len(messages):.2%})")
    print(f"all TipDM messages: {flagged}/{total} flagged ({flagged / total:.2%}), "
          f"{emergencies} as emergencies ({emergencies / total:.2%})")
    assert total > 3000
    assert flagged / total <= 0.03
    assert emergencies / total <= 0.005  # a wrong transfer to 110/119/120/122 costs the most


# -- the rules file is validated, each bad entry named ------------------------------------------

GOOD_MATTER = """  - code: arbitration
    name: 仲裁
    kind: excluded
    patterns: ['已申请仲裁']
    reason: 需通过仲裁程序解决
    referral: 劳动人事争议仲裁委员会
"""
HEADER = ("inquiry_patterns: [如何]\nasking_patterns: [请问]\nin_procedure_patterns: [已经]\n"
          "not_current_patterns: [去年]\nmatters:\n")


def write_rules(tmp_path, text):
    path = tmp_path / "scope_rules.yaml"
    path.write_text(text, "utf-8")
    return path


@pytest.mark.parametrize("entry, expected", [
    (GOOD_MATTER.replace("['已申请仲裁']", "['已申请(仲裁']"),
     "matters[1]（arbitration）.patterns[0]: 不是有效的正则表达式"),
    (GOOD_MATTER.replace("kind: excluded", "kind: emergency"),
     "matters[1]（arbitration）.transfer_to: 紧急事项必须写明转接号码"),
    (GOOD_MATTER.replace("kind: excluded", "kind: forbidden"),
     "matters[1]（arbitration）.kind: 应为 emergency（紧急转接）或 excluded（不予受理）"),
    (GOOD_MATTER.replace("    reason: 需通过仲裁程序解决\n", ""),
     "matters[1]（arbitration）.reason: 缺少必填项"),
    (GOOD_MATTER.replace("patterns:", "pattern:"),
     "matters[1]（arbitration）.pattern: 未知的项"),
    (GOOD_MATTER.replace("code: arbitration", "code: Arbitration"),
     "matters[1]（Arbitration）.code: 只能使用小写英文字母和数字"),
    (GOOD_MATTER, "matters[1]（arbitration）.code: 'arbitration' 与 matters[0] 重复"),
])
def test_bad_rule_entries_are_named(tmp_path, entry, expected):
    path = write_rules(tmp_path, HEADER + GOOD_MATTER + entry)
    with pytest.raises(ScopeRulesError) as refused:
        load_scope_rules(path)
    assert expected in str(refused.value)


def test_broken_yaml_is_reported(tmp_path):
    with pytest.raises(ScopeRulesError, match="不是有效的 YAML"):
        load_scope_rules(write_rules(tmp_path, "matters: [\n"))


# -- against the real engine -------------------------------------------------------------------

def test_worker_sets_scope_variables_on_the_engine(engine, start_instance, run_worker):
    instance = start_instance("test_scope_and_routing", {
        "kind": "complaint", "title": "讨薪",
        "content": "我已经申请劳动仲裁，仲裁委迟迟不开庭，老板还是不给工资"})
    run_worker(scope_check.router)

    def waiting_for_routing():
        tasks = engine.get("/external-task", processInstanceId=instance["id"])
        return tasks and tasks[0]["activityId"] == "Task_Route"
    wait_until(waiting_for_routing, what="the scope check to complete")
    values = {name: from_typed(typed) for name, typed in engine.get(
        f"/process-instance/{instance['id']}/variables", deserializeValues="false").items()}
    assert values["scopeFlag"] == EXCLUDED
    assert values["scopeMatters"] == ["arbitration"]
    assert "仲裁" in values["scopeReason"]
    assert "劳动人事争议仲裁委员会" in values["scopeReferral"]
    assert values["scopeTransferTo"] == []
    assert engine.get("/incident", processInstanceId=instance["id"]) == []
