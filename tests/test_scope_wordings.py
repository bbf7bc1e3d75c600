"""受理范围 measured: a labelled set of wordings, written the ways callers say them, for every
matter the plan excludes and every emergency service, plus near-misses that must stay in scope.
Prints recall and precision per matter (`./suban test -s tests/test_scope_wordings.py`) and
holds the rules to the targets: recall ≥ 95 % overall and per matter no worse than one miss,
precision ≥ 90 %.

Each case: the matter it must be flagged as (None: must stay in scope), the appeal's kind,
title and content. A case counts as found when its matter is among the flagged ones; every
other matter flagged on it is a false alarm of that matter.
"""
from __future__ import annotations

import collections

import pytest

from admin_data.scope_rules import load_scope_rules
from external_tasks.scope_check import check_appeal

POLICE, FIRE, MEDICAL, TRAFFIC = "police110", "fire119", "medical120", "traffic122"

FLAGGED = [
    # -- 110 ----------------------------------------------------------------------------------
    (POLICE, "help", "打架", "喂，我们村口现在有一帮人在打架，都动手了，你们快点来人"),
    (POLICE, "help", "砍人", "菜市场那边有人拿刀砍人，地上都是血"),
    (POLICE, "help", "家暴", "我老公现在正在打我，他喝多了，我躲在厕所里不敢出去"),
    (POLICE, "help", "小偷", "有个小偷刚才偷了我的电动车，我看到他往北边跑了"),
    (POLICE, "help", "被抢", "我的包刚刚被人抢了，骑摩托车抢的，就在县医院门口"),
    (POLICE, "help", "有人闹事", "饭店里有人喝醉了在砸东西，老板都被打了"),
    (POLICE, "help", "轻生", "我朋友给我发消息说不想活了要跳河，现在人在河边"),
    (POLICE, "help", "有人撬锁", "对门有人正在撬锁，看着不像主人家"),
    # -- 119 ----------------------------------------------------------------------------------
    (FIRE, "help", "着火", "快来啊，我们小区3号楼冒烟了，好像是着火了"),
    (FIRE, "help", "仓库失火", "工业园一个仓库失火了，烟很大"),
    (FIRE, "help", "煤气味", "楼道里一股很大的煤气味，好像哪家漏气了"),
    (FIRE, "help", "电动车起火", "楼下充电的电动车烧起来了"),
    (FIRE, "help", "困电梯", "电梯卡在五楼了，里面关着一个老人出不来"),
    (FIRE, "help", "液化气罐", "饭店的液化气罐漏气了，嘶嘶响"),
    (FIRE, "help", "山火", "后山上起火了，火越烧越大，快烧到村子了"),
    # -- 120 ----------------------------------------------------------------------------------
    (MEDICAL, "help", "老人摔倒", "我奶奶在家摔倒了，叫她也不答应，昏过去了"),
    (MEDICAL, "help", "心脏病", "我爸心脏病发作了，脸都白了，需要救护车"),
    (MEDICAL, "help", "吃安眠药", "我妹妹吃了一整瓶安眠药，现在叫不醒"),
    (MEDICAL, "help", "孩子抽搐", "孩子发高烧一直抽搐，呼吸困难，快救救孩子"),
    (MEDICAL, "help", "触电", "工地上有个工人触电了，倒在地上不动"),
    (MEDICAL, "help", "有人落水", "水库边有人落水了，刚捞上来没气了"),
    (MEDICAL, "help", "路边有人晕倒", "路边有个人晕倒了，躺在地上不省人事"),
    # -- 122 ----------------------------------------------------------------------------------
    (TRAFFIC, "help", "车祸", "310国道这里刚出了车祸，有人受伤了，血流了一地"),
    (TRAFFIC, "help", "撞人", "一辆货车把骑电动车的撞倒了，人躺在地上起不来"),
    (TRAFFIC, "help", "追尾", "高速出口几辆车追尾，有人被卡在车里出不来"),
    (TRAFFIC, "help", "翻车", "前面路口一辆三轮车翻车了，车上的人受伤了"),
    (TRAFFIC, "help", "撞了人跑了", "刚才一辆车撞了人就跑了，伤者还在路边"),
    (TRAFFIC, "help", "两车相撞", "学校门口两辆车相撞，有个学生受伤倒地"),
    # -- 诉讼 -----------------------------------------------------------------------------------
    ("litigation", "complaint", "官司", "我跟开发商的官司已经打了两年了，法院到现在还没判"),
    ("litigation", "complaint", "执行", "法院判了对方赔我钱，可是到现在一分钱也没执行到位"),
    ("litigation", "help", "法院开庭", "我的案子法院开庭好几次了，法官一直拖着不判，你们帮我催催"),
    ("litigation", "complaint", "判决不公", "法院一审判决不公平，我不服，想让政府出面改判"),
    ("litigation", "help", "起诉了", "我已经把老板告到法院了，请热线帮我督促一下"),
    ("litigation", "complaint", "老赖", "对方是失信被执行人，法院执行不了，请政府帮我要钱"),
    ("litigation", "complaint", "离婚判决", "离婚判决书下来了，孩子判给我，前夫不让我见孩子"),
    # -- 仲裁 -----------------------------------------------------------------------------------
    ("arbitration", "complaint", "仲裁不执行", "劳动仲裁已经裁决公司赔偿我，公司就是不给"),
    ("arbitration", "complaint", "仲裁拖延", "我申请仲裁两个多月了，仲裁院一直不开庭"),
    ("arbitration", "complaint", "裁决不服", "对仲裁裁决结果不服，仲裁员偏向公司"),
    ("arbitration", "help", "正在仲裁", "我和公司的劳动纠纷正在仲裁，请你们帮我催一下"),
    ("arbitration", "complaint", "仲裁调解书", "仲裁调解书上写好的补偿金，公司到期没付"),
    ("arbitration", "help", "已经仲裁", "我们几个工人已经申请了劳动仲裁，想让热线督促仲裁委快点处理"),
    # -- 纪检监察 --------------------------------------------------------------------------------
    ("discipline", "report", "村会计", "我要举报村会计贪污集体的土地补偿款"),
    ("discipline", "report", "收红包", "镇上派出所的民警办户口收红包，不给钱不办"),
    ("discipline", "report", "吃喝", "某局领导天天公款吃喝，开公车去酒店"),
    ("discipline", "report", "纪委", "请把我的举报转给县纪委，我要实名举报镇长"),
    ("discipline", "report", "截留补贴", "村干部截留我们的低保金和惠农补贴"),
    ("discipline", "report", "受贿", "卫生院院长收受医药公司的回扣，拿好处"),
    ("discipline", "report", "挪用", "村支书挪用公款给自己家盖房子"),
    # -- 行政复议 -------------------------------------------------------------------------------
    ("reconsideration", "complaint", "不服罚款", "城管罚了我两千块，我不服这个处罚决定，要求撤销"),
    ("reconsideration", "complaint", "复议", "我已经申请了行政复议，县政府复议办到现在也没给我决定"),
    ("reconsideration", "complaint", "工伤认定", "人社局的工伤认定决定我不服，认定错了，要求重新认定"),
    ("reconsideration", "complaint", "吊销执照", "市场监管局吊销我的营业执照，我不服，请撤销这个行政处罚"),
    ("reconsideration", "complaint", "复议决定", "复议决定维持原处罚，我还是不服"),
    ("reconsideration", "complaint", "拆除决定", "我对城管下的限期拆除决定不服"),
    # -- 已进入信访 ------------------------------------------------------------------------------
    ("petition", "complaint", "上访多年", "这个事情我上访好几年了，一直没有解决"),
    ("petition", "complaint", "信访答复", "信访局给的答复意见我不认可，要求重新处理"),
    ("petition", "complaint", "信访件", "我的信访件转到镇里半年了，没人理"),
    ("petition", "complaint", "去市里上访", "我们已经到市里上访过三次了，还是没人管"),
    ("petition", "complaint", "信访复查", "我申请了信访复查，复查机关一直没答复"),
    ("petition", "complaint", "越级", "再不解决我就进京上访"),
    # -- 国家秘密 -------------------------------------------------------------------------------
    ("statesecret", "report", "涉密", "我在单位看到有人把涉密文件拿回家，还拍照发群里"),
    ("statesecret", "inquiry", "机密", "我想查一下县里关于征地的机密文件内容"),
    ("statesecret", "report", "军事禁区", "有人在军事禁区附近用无人机拍照"),
    ("statesecret", "help", "国家机密", "我掌握一些国家机密，想通过热线反映上去"),
    ("statesecret", "report", "泄露秘密", "有公职人员把秘密级的资料卖给外面的人"),
    ("statesecret", "inquiry", "涉密资料", "请把县里的涉密资料发给我看看"),
    # -- 商业秘密 -------------------------------------------------------------------------------
    ("tradesecret", "complaint", "技术被偷", "我们厂的技术秘密被离职员工偷走了，现在对手在用"),
    ("tradesecret", "help", "竞争对手", "请帮我查一下对手公司的进货价和客户名单"),
    ("tradesecret", "complaint", "图纸泄露", "公司图纸被人泄露给了外地的厂家"),
    ("tradesecret", "help", "配方", "隔壁饭店的秘方是怎么做的，你们帮我问问"),
    ("tradesecret", "complaint", "商业机密", "前合伙人拿走了我们的商业机密去开新公司"),
    ("tradesecret", "help", "成本价", "麻烦政府让那家公司把他们的成本和利润告诉我"),
    # -- 个人隐私 -------------------------------------------------------------------------------
    ("privacy", "help", "找人", "我想查一个人的家庭住址和电话号码，他欠我钱躲起来了"),
    ("privacy", "help", "查邻居", "请告诉我我们邻居的手机号，他家漏水我找不到人"),
    ("privacy", "help", "查身份证", "能不能帮我查一下这个人的身份证号码"),
    ("privacy", "help", "查老公", "我怀疑老公出轨，你们能查他的行踪吗"),
    ("privacy", "help", "找前男友", "帮我找一下我前男友现在住在哪里"),
    ("privacy", "help", "查住址", "我要找一个叫张某的人，请提供他的住址和联系方式"),
    ("privacy", "help", "查工资", "我想知道我们同事一个月工资多少，你们帮我查查"),
    ("privacy", "help", "查病历", "把我嫂子在县医院的病历调出来给我看看"),
    ("privacy", "help", "查房产", "我想查一下我前妻名下有几套房子"),
    # -- 违背公序良俗 -----------------------------------------------------------------------------
    ("publicorder", "help", "赌债", "他打牌输了欠我八万赌债，现在不认账了，你们帮我要"),
    ("publicorder", "help", "代孕", "请问县里有没有代孕机构，想找个代孕妈妈"),
    ("publicorder", "help", "分手费", "我被包养了三年，他现在不给我包养费了"),
    ("publicorder", "help", "卖肾", "家里困难想卖一个肾，哪里能卖"),
    ("publicorder", "help", "闹婚", "帮我们找几个人去前女友婚礼上闹一闹"),
    ("publicorder", "help", "小三", "请政府帮我把老公的小三赶出县城"),
]

#: Ordinary appeals and procedural inquiries that sound like a flagged matter.
NEAR_MISSES = [
    ("inquiry", "法律援助", "请问怎么申请法律援助，我没钱请律师"),
    ("complaint", "噪音", "楼上天天半夜装修，打电话报警警察来了也没用，请你们管管"),
    ("inquiry", "起诉", "咨询一下起诉离婚需要什么材料，去哪个法院"),
    ("inquiry", "仲裁", "请问劳动仲裁要去哪里申请，需要带哪些材料"),
    ("inquiry", "复议", "想问一下对罚款不服可以申请行政复议吗"),
    ("inquiry", "信访", "请问信访局在哪里办公，几点上班"),
    ("complaint", "欠薪", "老板拖欠我们十几个人三个月工资，请劳动监察帮忙"),
    ("complaint", "消防通道", "小区消防通道被私家车堵死了，万一着火消防车进不来"),
    ("suggestion", "路口", "这个路口车祸多发，建议装个红绿灯"),
    ("complaint", "骚扰电话", "我的电话号码不知被谁泄露了，天天接到推销电话"),
    ("complaint", "赌博", "举报村里有人聚众赌博，经常打到半夜"),
    ("complaint", "烧烤", "楼下烧烤摊油烟很大，烟都飘进家里"),
    ("complaint", "秸秆焚烧", "村里有人焚烧秸秆，浓烟呛人"),
    ("complaint", "电梯故障", "小区电梯经常坏，上周还困过人，物业不修"),
    ("complaint", "医院态度", "县医院急诊科医生态度很差，让病人等了两个小时"),
    ("complaint", "交通事故理赔", "上个月出了交通事故，对方保险公司一直不理赔"),
    ("complaint", "派出所", "派出所办身份证太慢了，跑了三趟还没办好"),
    ("complaint", "警察态度", "交警在路口乱罚款，态度还很凶"),
    ("inquiry", "户籍", "请问孩子上户口需要什么手续"),
    ("complaint", "村务公开", "村里的账目好几年不公开，村民想看看钱花哪了"),
    ("complaint", "低保", "我家符合低保条件，申请了半年还没批下来"),
    ("complaint", "物业", "物业乱收停车费，业主不同意"),
    ("inquiry", "公证", "请问办遗嘱公证去哪里办"),
    ("complaint", "施工噪音", "工地晚上十二点还在打桩，吵得孩子睡不着"),
    ("complaint", "路灯", "我们小区门口路灯坏了半个月，晚上黑乎乎的"),
    ("complaint", "燃气收费", "燃气公司收费太高，开户费要三千多"),
    ("suggestion", "防溺水", "建议在水库边多设防溺水警示牌"),
    ("complaint", "流浪狗", "小区里有流浪狗咬人，请派人来抓"),
    ("inquiry", "社保", "请问个人怎么交养老保险，一年交多少"),
    ("complaint", "占道", "街上小摊贩占道经营，车都过不去"),
    ("complaint", "学校收费", "学校乱收资料费，每个学生两百"),
    ("inquiry", "营业执照", "想开个小饭店，办营业执照需要什么材料"),
    ("complaint", "外卖", "在网上买的东西质量有问题，商家不给退"),
    ("complaint", "水费", "这个月水费突然涨了好几倍，怀疑水表坏了"),
    ("complaint", "教师", "学校老师在校外开补习班，强迫学生去上"),
    ("complaint", "办事难", "去政务服务中心办事，窗口人员让我跑了三次"),
    ("inquiry", "个人信息", "请问怎么查自己名下的社保缴费记录"),
    ("complaint", "邻居纠纷", "邻居在我家门口堆杂物，说了也不听"),
    ("complaint", "火灾隐患", "楼道里有人飞线给电动车充电，很容易起火"),
    ("complaint", "急救车慢", "上个月叫了120，救护车四十分钟才到"),
    ("complaint", "拆迁补偿", "拆迁补偿标准太低，我们不满意"),
    ("inquiry", "法院地址", "请问县法院的诉讼服务中心电话是多少"),
    ("complaint", "房产证", "买房五年了开发商还没给办房产证"),
    ("complaint", "广场舞", "广场舞音响太吵，报过警也只管一会儿"),
    ("complaint", "饭店卫生", "一家饭店后厨很脏，吃完拉肚子"),
]


def test_labelled_set_is_large_and_covers_every_matter():
    rules = load_scope_rules()
    assert len(FLAGGED) >= 80 and len(NEAR_MISSES) >= 40
    assert {code for code, *_ in FLAGGED} == {matter.code for matter in rules.matters}


def measure(rules) -> dict[str, dict[str, int]]:
    """Per matter: cases of it found (tp), missed (fn), and other cases flagged as it (fp)."""
    counts: dict[str, dict[str, int]] = collections.defaultdict(lambda: dict(tp=0, fn=0, fp=0))
    cases = FLAGGED + [(None, *case) for case in NEAR_MISSES]
    for expected, kind, title, content in cases:
        flagged = {finding.matter.code for finding in check_appeal(title, content, kind, rules).findings}
        if expected:
            counts[expected]["tp" if expected in flagged else "fn"] += 1
        for code in flagged - {expected}:
            counts[code]["fp"] += 1
    return counts


def ratio(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


def test_recall_and_precision_per_matter():
    rules = load_scope_rules()
    counts = measure(rules)
    print(f"\n{'matter':<18}{'recall':>10}{'precision':>12}")
    for matter in rules.matters:
        c = counts[matter.code]
        print(f"{matter.code:<18}{c['tp']:>4}/{c['tp'] + c['fn']:<3} {ratio(c['tp'], c['tp'] + c['fn']):>4.0%}"
              f"{ratio(c['tp'], c['tp'] + c['fp']):>10.0%}  {matter.name}")
    tp, fn, fp = (sum(c[key] for c in counts.values()) for key in ("tp", "fn", "fp"))
    print(f"{'all':<18}{tp:>4}/{tp + fn:<3} {ratio(tp, tp + fn):>4.0%}{ratio(tp, tp + fp):>10.0%}")
    assert ratio(tp, tp + fn) >= 0.95
    assert ratio(tp, tp + fp) >= 0.90
    for code, c in counts.items():
        assert c["fn"] <= 1, f"{code} missed {c['fn']} cases"
        assert ratio(c["tp"], c["tp"] + c["fp"]) >= 0.8, f"{code} has {c['fp']} false alarms"


@pytest.mark.parametrize("kind, title, content", NEAR_MISSES, ids=[case[1] for case in NEAR_MISSES])
def test_near_misses_stay_in_scope(kind, title, content):
    result = check_appeal(title, content, kind, load_scope_rules())
    assert [finding.evidence for finding in result.findings] == []
