"""派单建议: the taxonomy, the gazetteer and the territory + matter proposal."""
import csv

import pytest

from admin_data.directory import load_directory
from external_tasks import routing, scope_check
from external_tasks.camunda import from_typed
from external_tasks.routing import AMBIGUOUS, AMBIGUOUS_LOCATION, FOUND, OK, TERRITORY, UNKNOWN, UNKNOWN_CATEGORY, UNKNOWN_LOCATION, propose_route
from admin_data.taxonomy import MATTER, TaxonomyError, load_taxonomy
from admin_data.gazetteer import GazetteerError, find_township, load_gazetteer
from external_tasks.runtime import TaskRouter
from admin_data.scope_rules import load_scope_rules
from tests.conftest import wait_until
from tests.helpers import TIPDM_DIR


@pytest.fixture(scope="module")
def directory():
    return load_directory()


@pytest.fixture(scope="module")
def taxonomy(directory):
    return load_taxonomy(directory=directory)


@pytest.fixture(scope="module")
def gazetteer(directory):
    return load_gazetteer(directory=directory)


@pytest.fixture
def propose(directory, taxonomy, gazetteer):
    def run(category_code, township=None, address=None, title=None, content=None,
            intake_difficulty=None):
        return propose_route(category_code, township, address, title, content,
                             intake_difficulty=intake_difficulty, taxonomy=taxonomy,
                             gazetteer=gazetteer, directory=directory)
    return run


# -- the shipped files -------------------------------------------------------------------------

def test_shipped_taxonomy_names_real_departments(taxonomy, directory):
    leaves = taxonomy.leaves
    assert 40 <= len(leaves) <= 80
    assert len({leaf.code for leaf in leaves}) == len(leaves)
    for leaf in leaves:
        for unit_id in (leaf.department,) + leaf.co_units:
            unit = directory.unit(unit_id)
            assert unit is not None and not unit.territorial, (leaf.code, unit_id)
        if leaf.department == "govoffice":
            # No handling department of its own: never dispatched without a person looking.
            assert not leaf.auto_dispatch, leaf.code


def test_every_reference_category_is_covered(taxonomy):
    """The TipDM analysts' top-level categories and gold labels all map to ours; 纪检监察 is not a
    category here but an excluded matter of the scope check."""
    if not TIPDM_DIR.is_dir():
        pytest.skip(f"TipDM reference data not found at {TIPDM_DIR}")
    with (TIPDM_DIR / "taxonomy.csv").open(encoding="utf-8") as file:
        reference = {row["level1"] for row in csv.DictReader(file)}
    with (TIPDM_DIR / "sample_messages.csv").open(encoding="utf-8") as file:
        gold = {row["category"] for row in csv.DictReader(file)}
    covered = {name for category in taxonomy.categories for name in category.reference_categories}
    assert covered <= reference, covered - reference  # no typo in a reference name
    assert gold <= covered
    assert reference - covered == {"纪检监察"}
    assert load_scope_rules().matter("discipline") is not None


def test_shipped_gazetteer_covers_every_territorial_unit(gazetteer, directory):
    named = {unit for _, units in gazetteer.names.values() for unit in units}
    assert named == {unit.id for unit in directory.units if unit.territorial}


# -- finding the township ----------------------------------------------------------------------

@pytest.mark.parametrize("text, status, township", [
    ("萧县黄口镇镇中心菜市场", FOUND, "huangkou"),
    ("官桥镇前白村东头", FOUND, "guanqiao"),
    ("前白村村委会门口", FOUND, "guanqiao"),           # a village name alone
    ("龙山社区某小区", FOUND, "longhe"),
    ("在黄口那边的一个厂", FOUND, "huangkou"),         # a short name
    ("杨楼村", UNKNOWN, None),                        # a village called 杨楼, not 杨楼镇
    ("酒店门口夜里很吵", UNKNOWN, None),               # 酒店 is not 酒店镇
    ("黄口镇和杨楼镇交界处", AMBIGUOUS, None),
    ("杨楼镇，离黄口不远", FOUND, "yanglou"),         # a full name outranks a short name
    ("萧县经开区某厂区", FOUND, "kaifaqu"),
    ("圣泉 镇", FOUND, "shengquan"),                  # spaces typed by the call taker
    ("", UNKNOWN, None),
])
def test_find_township(gazetteer, text, status, township):
    found = find_township(text, gazetteer)
    assert (found.status, found.township) == (status, township)


def test_ambiguous_village_is_resolved_by_another_name(tmp_path):
    directory = small_directory(tmp_path)
    path = write(tmp_path, "gazetteer.yaml", "ambiguous_names: [高庄村]\ntownships:\n"
                 "  - {unit: huangkou, names: [黄口镇, 黄口], places: [高庄村, 镇西社区]}\n"
                 "  - {unit: yanglou, names: [杨楼镇, 杨楼], places: [高庄村]}\n")
    gazetteer = load_gazetteer(path, directory)
    shared = find_township("高庄村", gazetteer)
    assert (shared.status, shared.candidates) == (AMBIGUOUS, ("huangkou", "yanglou"))
    assert find_township("镇西社区高庄村", gazetteer).township == "huangkou"
    assert find_township("杨楼镇高庄村", gazetteer).township == "yanglou"


# -- the proposal ------------------------------------------------------------------------------

def test_given_township_leads_a_territory_led_leaf(propose):
    proposal = propose("construction.propertyService", township="huangkou",
                       address="杨楼镇某小区")  # the registered township wins over the address
    assert proposal.to_variables() == {
        "proposedLeadUnit": "huangkou", "proposedCoUnits": ["housing"],
        "proposedTownship": "huangkou", "routingBasis": TERRITORY, "routingStatus": OK,
        "routingNote": "“城乡建设 / 物业服务”按属地原则由乡镇（街道）牵头：登记的属地为黄口镇，"
                       "建议黄口镇牵头，县住建局配合。该分类已开启自动派单，按此建议派单。",
        "categoryName": "城乡建设 / 物业服务", "difficulty": "ordinary", "autoDispatch": True,
        "leadUnit": "huangkou", "coUnits": ["housing"]}


def test_township_found_from_a_village_in_the_address(propose):
    proposal = propose("citymgmt.illegalBuilding", address="前白村三组")
    assert (proposal.status, proposal.lead_unit, proposal.co_units) == (
        OK, "guanqiao", ("urbanmgmt", "naturalres"))
    assert "地址中识别到“前白村”，属官桥镇" in proposal.note


def test_township_found_in_the_content_when_the_address_has_none(propose):
    proposal = propose("citymgmt.sanitation", address="菜市场北门",
                       content="永堌镇菜市场北门垃圾堆了一个星期没人清运")
    assert (proposal.township, proposal.location.source) == ("yonggu", "text")
    assert "诉求内容中识别到“永堌镇”" in proposal.note


def test_two_townships_named_is_ambiguous(propose):
    variables = propose("citymgmt.sanitation", address="黄口镇与杨楼镇交界的路口").to_variables()
    assert variables["routingStatus"] == AMBIGUOUS_LOCATION
    assert variables["proposedLeadUnit"] is None and variables["proposedTownship"] is None
    assert variables["autoDispatch"] is False and "leadUnit" not in variables
    assert "黄口镇、杨楼镇" in variables["routingNote"]


def test_territory_led_leaf_without_a_township_goes_to_a_person(propose):
    variables = propose("construction.propertyService", address="县城某小区",
                        content="物业不打扫楼道").to_variables()
    assert variables["routingStatus"] == UNKNOWN_LOCATION
    assert variables["proposedLeadUnit"] is None
    assert variables["proposedCoUnits"] == ["housing"]
    assert variables["autoDispatch"] is False and "coUnits" not in variables
    assert "请人工确定牵头乡镇（街道）" in variables["routingNote"]


def test_matter_led_leaf_adds_the_township_as_co_unit(propose):
    variables = propose("labour.wageArrears", address="官桥镇某工地").to_variables()
    assert (variables["routingBasis"], variables["proposedLeadUnit"]) == (MATTER, "hrss")
    assert variables["proposedCoUnits"] == ["guanqiao"]
    assert (variables["leadUnit"], variables["coUnits"]) == ("hrss", ["guanqiao"])


def test_matter_led_leaf_without_a_place_is_still_ok_when_it_needs_none(propose):
    variables = propose("labour.wageArrears", content="老板拖欠三个月工资").to_variables()
    assert variables["routingStatus"] == OK
    assert (variables["proposedLeadUnit"], variables["proposedCoUnits"]) == ("hrss", [])
    assert variables["autoDispatch"] is True
    assert "暂无属地配合单位" in variables["routingNote"]


def test_a_place_bound_matter_without_a_township_goes_to_a_person(propose):
    """A broken street lamp "somewhere": the department is proposed, but nobody can go and see
    it before the centre finds the place."""
    variables = propose("citymgmt.municipalFacilities", content="路灯坏了好几天了，晚上很黑").to_variables()
    assert variables["routingStatus"] == UNKNOWN_LOCATION
    assert variables["proposedLeadUnit"] == "urbanmgmt"
    assert variables["autoDispatch"] is False and "leadUnit" not in variables
    assert "须到现场处理" in variables["routingNote"]
    found = propose("citymgmt.municipalFacilities", content="官桥镇中心街路灯坏了").to_variables()
    assert found["routingStatus"] == OK and found["proposedCoUnits"][-1:] == ["guanqiao"]


def test_every_leaf_says_whether_it_needs_a_place(taxonomy):
    """Most matters need a place; those that do not are policy, licences and benefits."""
    without_place = {leaf.code for leaf in taxonomy.leaves if not leaf.needs_place}
    assert {"labour.socialInsurance", "legal.householdRegistration", "economy.tax"} <= without_place
    assert "citymgmt.municipalFacilities" not in without_place


def test_unknown_category_is_left_to_the_centre(propose):
    variables = propose("construction.noSuchLeaf", address="黄口镇").to_variables()
    assert variables["routingStatus"] == UNKNOWN_CATEGORY
    assert variables["proposedTownship"] == "huangkou"
    assert (variables["proposedLeadUnit"], variables["categoryName"], variables["routingBasis"]) == (
        None, None, None)
    assert variables["difficulty"] == "ordinary"  # the centre sets it when it picks the category
    assert variables["autoDispatch"] is False
    assert "“construction.noSuchLeaf”不在分类目录中" in variables["routingNote"]


def test_auto_dispatch_switched_off_leaves_the_proposal_for_review(propose):
    variables = propose("construction.realEstate", address="杨楼镇某小区").to_variables()
    assert variables["routingStatus"] == OK
    assert (variables["proposedLeadUnit"], variables["proposedCoUnits"]) == (
        "housing", ["naturalres", "yanglou"])
    assert variables["difficulty"] == "complex"
    assert variables["autoDispatch"] is False
    assert "leadUnit" not in variables and "coUnits" not in variables
    assert "该分类未开启自动派单" in variables["routingNote"]


def test_the_call_takers_complex_stays_complex(propose):
    assert propose("labour.wageArrears", intake_difficulty="complex").difficulty == "complex"
    assert propose("labour.wageArrears", intake_difficulty="ordinary").difficulty == "ordinary"
    assert propose("construction.realEstate", intake_difficulty="ordinary").difficulty == "complex"
    assert propose("no.such", intake_difficulty="complex").difficulty == "complex"


def test_a_leaf_note_reaches_the_dispatcher(propose):
    assert "目录中尚无该单位" in propose("economy.workSafety", address="黄口镇").note


def test_a_given_township_that_is_no_territorial_unit_is_not_trusted(propose):
    proposal = propose("construction.propertyService", township="market", address="杨楼镇某小区")
    assert (proposal.status, proposal.lead_unit) == (OK, "yanglou")
    assert proposal.auto_dispatch is False
    assert "登记的属地“market”不是单位目录中的乡镇（街道）" in proposal.note


# -- the admin files are validated, each bad entry named ----------------------------------------

DIRECTORY = """units:
  - {id: countyleaders, name: 县领导, kind: leadership, demo_user: countyleaders01}
  - {id: huangkou, name: 黄口镇, kind: town, demo_user: huangkou01}
  - {id: yanglou, name: 杨楼镇, kind: town, demo_user: yanglou01}
  - {id: housing, name: 县住建局, kind: department, demo_user: housing01}
  - {id: hrss, name: 县人社局, kind: department, demo_user: hrss01}
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


def small_directory(tmp_path):
    return load_directory(write(tmp_path, "directory.yaml", DIRECTORY))


GOOD_LEAF = "{code: construction.propertyService, name: 物业服务, department: housing, lead: territory}"


@pytest.mark.parametrize("leaf, expected", [
    (GOOD_LEAF.replace("department: housing", "department: nowhere"),
     "categories[0]（construction）.leaves[1]（construction.propertyService）.department: "
     "单位目录中没有单位 'nowhere'"),
    (GOOD_LEAF.replace("department: housing", "department: huangkou"),
     "leaves[1]（construction.propertyService）.department: 'huangkou'（黄口镇）是乡镇（街道）"),
    (GOOD_LEAF.replace("lead: territory", "lead: township"),
     "leaves[1]（construction.propertyService）.lead: 应为 territory（属地牵头）或 matter（属事牵头）"),
    (GOOD_LEAF.replace("construction.propertyService", "housing.propertyService"),
     "leaves[1]（housing.propertyService）.code: 应以一级分类编码 'construction.' 开头"),
    (GOOD_LEAF.replace("construction.propertyService", "construction.realEstate"),
     "leaves[1]（construction.realEstate）.code: 'construction.realEstate' 与 "
     "categories[0].leaves[0] 重复"),
    (GOOD_LEAF.replace("}", ", co_units: [hrss, hrss]}"),
     "leaves[1]（construction.propertyService）.co_units: 'hrss' 重复"),
    (GOOD_LEAF.replace("}", ", difficulty: hard}"),
     "leaves[1]（construction.propertyService）.difficulty: 应为 ordinary（一般）或 complex（复杂）"),
    (GOOD_LEAF.replace("}", ", auto_dispatch: maybe}"),
     "leaves[1]（construction.propertyService）.auto_dispatch: 应为 true 或 false"),
])
def test_bad_taxonomy_entries_are_named(tmp_path, leaf, expected):
    text = ("categories:\n  - code: construction\n    name: 城乡建设\n    leaves:\n"
            "      - {code: construction.realEstate, name: 房地产, department: housing, lead: matter}\n"
            f"      - {leaf}\n")
    with pytest.raises(TaxonomyError) as refused:
        load_taxonomy(write(tmp_path, "taxonomy.yaml", text), small_directory(tmp_path))
    assert expected in str(refused.value)


def test_taxonomy_defaults_are_manual_and_ordinary(tmp_path):
    text = f"categories:\n  - code: construction\n    name: 城乡建设\n    leaves:\n      - {GOOD_LEAF}\n"
    leaf = load_taxonomy(write(tmp_path, "taxonomy.yaml", text), small_directory(tmp_path)).leaves[0]
    assert (leaf.auto_dispatch, leaf.difficulty, leaf.co_units) == (False, "ordinary", ())


GOOD_TOWNSHIPS = "  - {unit: huangkou, names: [黄口镇, 黄口]}\n  - {unit: yanglou, names: [杨楼镇]}\n"


@pytest.mark.parametrize("text, expected", [
    (GOOD_TOWNSHIPS + "  - {unit: housing, names: [住建局]}\n",
     "townships[2]（housing）.unit: 'housing'（县住建局）不是乡镇、街道或经开区"),
    (GOOD_TOWNSHIPS + "  - {unit: nowhere, names: [某某镇]}\n",
     "townships[2]（nowhere）.unit: 单位目录中没有单位 'nowhere'"),
    (GOOD_TOWNSHIPS.replace("[杨楼镇]", "[杨楼镇], places: [高庄村]").replace("黄口]", "黄口], places: [高庄村]"),
     "townships[1]（yanglou）.places: '高庄村' 也写在 townships[0] 下；确有重名请列入 ambiguous_names"),
    (GOOD_TOWNSHIPS.replace("[杨楼镇]", "[杨楼镇, 黄口]"),
     "townships[1]（yanglou）.names: '黄口' 已是 townships[0] 的乡镇名称，不能重名"),
    (GOOD_TOWNSHIPS.replace("[杨楼镇]", "[杨楼]"),
     "townships[1]（yanglou）.names: 第一个名称应为全称"),
    (GOOD_TOWNSHIPS.replace("  - {unit: yanglou, names: [杨楼镇]}\n", ""),
     "townships: 单位目录中的属地单位没有地名: yanglou"),
    (GOOD_TOWNSHIPS + "  - {unit: yanglou, names: [杨楼乡]}\n",
     "townships[2]（yanglou）.unit: 'yanglou' 与 townships[1] 重复"),
])
def test_bad_gazetteer_entries_are_named(tmp_path, text, expected):
    with pytest.raises(GazetteerError) as refused:
        load_gazetteer(write(tmp_path, "gazetteer.yaml", "townships:\n" + text),
                       small_directory(tmp_path))
    assert expected in str(refused.value)


def test_broken_yaml_is_reported(tmp_path):
    with pytest.raises(TaxonomyError, match="不是有效的 YAML"):
        load_taxonomy(write(tmp_path, "taxonomy.yaml", "categories: [\n"), small_directory(tmp_path))


# -- against the real engine -------------------------------------------------------------------

def test_worker_sets_routing_variables_on_the_engine(engine, start_instance, run_worker):
    both = TaskRouter()
    both.include(scope_check.router)
    both.include(routing.router)
    instance = start_instance("test_scope_and_routing", {
        "kind": "complaint", "title": "小区物业不管事", "address": "萧县官桥镇前白村",
        "content": "小区楼道垃圾没人清理，物业不管", "categoryCode": "construction.propertyService",
        "township": "", "difficulty": "ordinary"})  # as intake leaves them when not chosen
    run_worker(both)

    def at_inspection():
        tasks = engine.get("/task", processInstanceId=instance["id"])
        return tasks and tasks[0]["taskDefinitionKey"] == "Task_Inspect"
    wait_until(at_inspection, what="scope check and routing to complete")
    values = {name: from_typed(typed) for name, typed in engine.get(
        f"/process-instance/{instance['id']}/variables", deserializeValues="false").items()}
    assert values["scopeFlag"] == "in_scope"
    assert values["routingStatus"] == OK
    assert values["routingBasis"] == TERRITORY
    assert (values["proposedLeadUnit"], values["proposedCoUnits"]) == ("guanqiao", ["housing"])
    assert (values["leadUnit"], values["coUnits"]) == ("guanqiao", ["housing"])
    assert values["proposedTownship"] == "guanqiao"
    assert values["categoryName"] == "城乡建设 / 物业服务"
    assert values["autoDispatch"] is True
    assert "地址中识别到“官桥镇”、“前白村”，属官桥镇" in values["routingNote"]
