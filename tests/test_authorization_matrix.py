"""Authorization audit: every role and unit kind of the directory sees and does exactly what it
should in the engine (tasks, process instances, history, variables) and in the console API, and
the caller's phone is readable only in the tasks of those who must call back or handle.

Five appeals, driven once for the module, hold open tasks of every role at once:
  assisting  the co-unit's opinion (县住建局) and a level-2 order (县督查考核办)
  replying   the lead unit's reply (凤城街道), its answer to a level-3 order, deputies' opinions
  escalated  the lead unit's sign-for and a level-3 order for the leader in charge
  callback   the hotline centre's callback
  on_site    the media centre's on-site supervision (说办就办)
"""
from __future__ import annotations

import json
import os
import subprocess
import xml.etree.ElementTree as ElementTree

import pytest
import requests

from console.form_schema import form_schema
from console.merge import merge_appeal
from deploy import stack
from admin_data.directory import LEADERS_GROUP, UNIT_KINDS, load_directory
from admin_data.environment import REPO_ROOT
from external_tasks.camunda import EngineClient, EngineError, to_typed_map
from external_tasks.appeal import APPEAL_PROCESS, ASSIST_PROCESS, SUPERVISION_PROCESS, UNIT_PROCESS
from tests.appeal_driver import AppealDriver
from tests.conftest import stack_settings, wait_until
from tests.helpers import LEADER_OF_FENGCHENG, request_supervision, run_suban

#: One user of every unit kind, county leaders and the workers' account, with its kind.
MATRIX = {
    "hotline01": "hotline_centre", "inspection01": "supervision_office",
    "media01": "media_centre", "countyleaders01": "leadership", "fengcheng01": "subdistrict",
    "longcheng01": "town", "shilin01": "township", "kaifaqu01": "development_zone",
    "housing01": "department", "market01": "department", "waterco01": "utility",
    "govoffice01": "office", "congress01": "office", "cppcc01": "office",
    LEADER_OF_FENGCHENG: "leader", "leadercongress": "leader", "subanworker": "workers",
}
LEVEL_THREE_ORDER = ("escalated", "Task_IssueSupervisionOrder")
#: The open tasks each user sees among the five appeals. A level-3 order is assigned to the
#: leader in charge alone: no other leader sees it.
EXPECTED_TASKS = {
    "hotline01": {("callback", "Task_CallbackCaller")},
    "inspection01": {("assisting", "Task_IssueSupervisionOrder")},
    "media01": {("on_site", "Task_SuperviseOnSite")},
    LEADER_OF_FENGCHENG: {LEVEL_THREE_ORDER},
    "fengcheng01": {("replying", "Task_ReplyAppeal"), ("replying", "Task_RespondToSupervision"),
                    ("escalated", "Task_SignForAppeal")},
    "housing01": {("assisting", "Task_AssistAppeal")},
    "congress01": {("replying", "Task_GiveDeputyOpinion")},
    "cppcc01": {("replying", "Task_GiveDeputyOpinion")},
}
#: Tasks whose worker must be able to call the caller: the lead unit's and the callback.
TASKS_WITH_THE_CALLERS_PHONE = {"Task_SignForAppeal", "Task_ReplyAppeal", "Task_CallbackCaller"}
REFUSED = (403, 404)
#: The engine's administrators' group, made with the admin user by the Spring Boot starter.
ENGINE_ADMINS = "camunda-admin"
#: Engine resource types (Camunda's Resources) and their names.
APPLICATION, PROCESS_DEFINITION, PROCESS_INSTANCE = 0, 6, 8
RESOURCE_NAMES = {APPLICATION: "Application", PROCESS_DEFINITION: "ProcessDefinition"}


class Scenario:
    def __init__(self, driver: AppealDriver, engine: EngineClient):
        self.driver = driver
        self.numbers: dict[str, str] = {}
        self.assisting()
        self.replying()
        self.escalated()
        self.callback()
        self.on_site()
        self.tasks = engine.get("/task", processInstanceBusinessKeyIn=self.keys)
        self.instances = [instance for number in self.numbers.values() for instance in engine.get(
            "/history/process-instance", processInstanceBusinessKey=number)]
        self.roots = {instance["businessKey"]: instance["id"] for instance in self.instances
                      if instance["processDefinitionKey"] == APPEAL_PROCESS}
        self.phones = {number: engine.get(
            "/history/variable-instance", processInstanceId=self.roots[number],
            variableName="callerPhone")[0]["value"] for number in self.numbers.values()}

    def new(self, name: str) -> str:
        self.numbers[name] = self.driver.submit()
        return self.numbers[name]

    def supervision(self, number: str, level: int) -> None:
        """Request a supervision; a 503 (the engine busy with the same appeal) is retried, as
        the API asks its callers to."""
        def answered():
            response = request_supervision(self.driver, number, {"level": level,
                                                          "reason": "涉及多部门, 属重大疑难件"})
            return response.status_code != 503 and response
        response = wait_until(answered, what=f"supervision request of {number}")
        assert response.status_code == 202, response.text

    def assisting(self) -> None:
        number = self.new("assisting")
        self.driver.handle_to_reply(number)
        self.driver.task(number, "housing01", "Task_AssistAppeal")
        self.supervision(number, 2)
        self.driver.task(number, "inspection01", "Task_IssueSupervisionOrder")

    def replying(self) -> None:
        number = self.new("replying")
        self.driver.to_reply(number)
        self.supervision(number, 3)
        self.driver.work(number, LEADER_OF_FENGCHENG, "Task_IssueSupervisionOrder",
                         supervisionOrder="请街道牵头三日内拿出整改方案", inviteDeputies=True,
                         invitedBodies=["congress", "cppcc"])
        for user in ("congress01", "cppcc01"):
            self.driver.task(number, user, "Task_GiveDeputyOpinion")
        self.driver.task(number, "fengcheng01", "Task_RespondToSupervision")

    def escalated(self) -> None:
        number = self.new("escalated")
        self.driver.task(number, "fengcheng01", "Task_SignForAppeal")
        self.supervision(number, 3)
        self.driver.task(number, LEADER_OF_FENGCHENG, "Task_IssueSupervisionOrder")

    def callback(self) -> None:
        number = self.new("callback")
        self.driver.reply_approved(number, "已督促物业清理完毕。")
        self.driver.task(number, "hotline01", "Task_CallbackCaller")

    def on_site(self) -> None:
        number = self.new("on_site")
        self.driver.reply_approved(number, "已督促物业限期整改到位。", solved=False)
        self.driver.work(number, "hotline01", "Task_CallbackCaller", callbackReached=True,
                         evaluation="unsatisfied", solvedConfirmed=False, reasonable=True,
                         nextStep="media", callbackNote="多次反映仍未解决")
        self.driver.task(number, "media01", "Task_SuperviseOnSite")

    @property
    def keys(self) -> str:
        return ",".join(self.numbers.values())

    def name_of(self, task: dict) -> tuple[str, str]:
        """(appeal, task key): unit processes carry their appeal's number as business key."""
        number = next(instance["businessKey"] for instance in self.instances
                      if instance["id"] == task["processInstanceId"])
        appeal = next(name for name, known in self.numbers.items() if known == number)
        return appeal, task["taskDefinitionKey"]

    def shows_a_phone(self, found) -> bool:
        text = json.dumps(found, ensure_ascii=False)
        return any(phone in text for phone in self.phones.values())


@pytest.fixture(scope="module")
def scenario(settings, engine, as_user) -> Scenario:
    return Scenario(AppealDriver(settings, engine, as_user), engine)


@pytest.fixture(scope="module")
def login(settings, as_user):
    """The engine as `user`, with that user's own password."""
    worker = EngineClient(settings.engine_rest_url, settings.worker_user, settings.worker_password)
    return lambda user: worker if user == settings.worker_user else as_user(user)


def refused(call) -> int:
    with pytest.raises(EngineError) as error:
        call()
    assert error.value.status in REFUSED, error.value
    return error.value.status


def authorized(client: EngineClient, permission: str, resource_type: int, resource_id: str):
    return client.get("/authorization/check", permissionName=permission,
                      resourceName=RESOURCE_NAMES[resource_type], resourceType=resource_type,
                      resourceId=resource_id)["authorized"]


def test_the_matrix_covers_every_unit_kind_and_its_users_exist(engine):
    directory = load_directory()
    assert set(UNIT_KINDS) <= set(MATRIX.values())
    groups_of = {user: {group["id"] for group in engine.get("/group", member=user)}
                 for user in MATRIX}
    for user, kind in MATRIX.items():
        if kind in UNIT_KINDS:
            assert directory.unit(user.removesuffix("01")).kind == kind
        if kind == "leader":
            assert LEADERS_GROUP in groups_of[user]
    assert groups_of["subanworker"] == {"subanworkers"}


@pytest.mark.parametrize("user", MATRIX)
def test_each_user_sees_exactly_its_units_tasks(scenario, login, user):
    seen = login(user).get("/task", processInstanceBusinessKeyIn=scenario.keys)
    assert {scenario.name_of(task) for task in seen} == EXPECTED_TASKS.get(user, set())


def own_tasks(scenario: Scenario, client: EngineClient) -> list[dict]:
    """The scenario's tasks the user sees (which ones: test_each_user_sees_exactly_...)."""
    return client.get("/task", processInstanceBusinessKeyIn=scenario.keys)


@pytest.mark.parametrize("user", MATRIX)
def test_no_one_reads_or_works_another_units_task(scenario, login, user):
    client = login(user)
    own = {task["id"] for task in own_tasks(scenario, client)}
    for task in scenario.tasks:
        if task["id"] in own:
            continue
        refused(lambda: client.get(f"/task/{task['id']}/variables"))
        refused(lambda: client.get(f"/task/{task['id']}/form-variables"))
        refused(lambda: client.post(f"/task/{task['id']}/claim", {"userId": user}))
        refused(lambda: client.post(f"/task/{task['id']}/complete", {}))


@pytest.mark.parametrize("user", MATRIX)
def test_the_callers_phone_only_in_the_tasks_that_call_back_or_handle(scenario, login, user):
    client = login(user)
    for task in own_tasks(scenario, client):
        name = scenario.name_of(task)
        variables = client.get(f"/task/{task['id']}/variables")
        assert scenario.shows_a_phone(variables) == (name[1] in TASKS_WITH_THE_CALLERS_PHONE), \
            f"{user} on {name}"


@pytest.mark.parametrize("user", [user for user, kind in MATRIX.items() if kind != "workers"])
def test_units_and_leaders_read_no_instance_history_or_variable(scenario, login, user):
    client = login(user)
    for number in scenario.numbers.values():
        assert client.get("/process-instance", businessKey=number) == []
        for path in ("/history/process-instance", "/history/task"):
            assert client.get(path, processInstanceBusinessKey=number) == [], path
    for instance in scenario.instances:
        if instance["state"] == "ACTIVE":
            refused(lambda: client.get(f"/process-instance/{instance['id']}/variables"))
            refused(lambda: client.post(f"/process-instance/{instance['id']}/variables",
                                        {"modifications": {"overdue": {"value": False}}}))
            refused(lambda: client.rest("DELETE", f"/process-instance/{instance['id']}"))
        for path in ("/variable-instance", "/execution", "/external-task", "/incident", "/job",
                     "/history/activity-instance", "/history/variable-instance",
                     "/history/detail", "/history/identity-link-log"):
            assert client.get(path, processInstanceId=instance["id"]) == [], path
    # Nor by the variable's name, across all appeals, current or past.
    for path in ("/variable-instance", "/history/variable-instance"):
        assert client.get(path, variableName="callerPhone") == [], path
    assert client.get("/history/detail", variableName="callerPhone") == []
    assert client.get("/history/user-operation", maxResults=10) == []


@pytest.mark.parametrize("user", MATRIX)
def test_no_one_but_the_administrator_administers(login, user):
    client = login(user)
    refused(lambda: client.post("/user/create", {
        "profile": {"id": "intruder", "firstName": "x", "lastName": "y", "email": "x@y.invalid"},
        "credentials": {"password": "intruder-password"}}))
    refused(lambda: client.post("/authorization/create", {
        "type": 1, "permissions": ["ALL"], "groupId": "housing", "userId": None,
        "resourceType": PROCESS_INSTANCE, "resourceId": "*"}))
    refused(lambda: client.rest("PUT", f"/group/{ENGINE_ADMINS}/members/{user}"))
    refused(lambda: client.post("/task/create", {"name": "伪造任务", "candidateGroups": "hotline"}))
    refused(lambda: client.post("/filter/create", {"resourceType": "Task", "name": "全部任务",
                                                   "owner": None, "query": {}}))
    for application in ("cockpit", "admin"):
        assert not authorized(client, "ACCESS", APPLICATION, application)
    assert client.get("/deployment") == []
    assert {each["id"] for each in client.get("/user")} == {user}
    refused(lambda: client.rest("POST", "/deployment/create", data={"deployment-name": "x"},
                                files={"x.bpmn": ("x.bpmn", b"<definitions/>")}))


@pytest.mark.parametrize("user", MATRIX)
def test_only_the_hotline_centre_starts_appeals(login, user):
    client = login(user)
    may_start = MATRIX[user] == "hotline_centre"
    assert authorized(client, "CREATE_INSTANCE", PROCESS_DEFINITION, APPEAL_PROCESS) == may_start
    for unit_process in (UNIT_PROCESS, ASSIST_PROCESS, SUPERVISION_PROCESS):
        refused(lambda: client.post(f"/process-definition/key/{unit_process}/start", {}))


@pytest.mark.parametrize("user", [user for user, kind in MATRIX.items() if kind != "workers"])
def test_units_and_leaders_use_tasklist_only(login, user):
    assert authorized(login(user), "ACCESS", APPLICATION, "tasklist")


def test_a_unit_may_not_hand_its_task_or_its_data_to_another(scenario, login):
    """Candidate groups get TASK_WORK, not UPDATE: they claim and complete, nothing more."""
    assist = next(task for task in scenario.tasks
                  if scenario.name_of(task) == ("assisting", "Task_AssistAppeal"))
    housing = login("housing01")
    refused(lambda: housing.post(f"/task/{assist['id']}/identity-links",
                                 {"groupId": "discipline", "type": "candidate"}))
    refused(lambda: housing.post(f"/task/{assist['id']}/assignee", {"userId": "market01"}))
    refused(lambda: housing.post(f"/task/{assist['id']}/delegate", {"userId": "market01"}))
    refused(lambda: housing.rest("PUT", f"/task/{assist['id']}/variables/leadUnit",
                                 json={"value": "housing", "type": "String"}))
    refused(lambda: login("discipline01").get(f"/task/{assist['id']}/variables"))


def test_the_workers_account_runs_processes_but_no_ones_tasks(scenario, login, settings):
    worker = login(settings.worker_user)
    for number in scenario.numbers.values():
        assert worker.get("/process-instance", businessKey=number)
    for instance in scenario.instances:
        if instance["state"] == "ACTIVE":
            refused(lambda: worker.rest("DELETE", f"/process-instance/{instance['id']}"))
    for task in scenario.tasks:
        refused(lambda: worker.get(f"/task/{task['id']}/variables"))
        refused(lambda: worker.post(f"/task/{task['id']}/complete", {}))
    # It reads and sets what its workers need (the caller's phone for SMS included).
    number = scenario.numbers["callback"]
    assert worker.get("/history/variable-instance", processInstanceId=scenario.roots[number],
                      variableName="callerPhone")[0]["value"] == scenario.phones[number]
    assert not authorized(worker, "ACCESS", APPLICATION, "tasklist")
    assert worker.get("/filter") == []


def test_console_api_needs_its_token_and_never_shows_the_phone(scenario, settings):
    number = scenario.numbers["replying"]
    url = f"{settings.console_url}/api/v1/appeals/{number}"
    # Nor do the engine accounts of the hotline centre or the administrator open it.
    for attempt in ({}, {"headers": {"Authorization": "Bearer wrong-token"}},
                    {"auth": ("hotline01", settings.demo_password)},
                    {"auth": (settings.admin_user, settings.admin_password)}):
        response = requests.get(url, timeout=30, **attempt)
        assert response.status_code == 401, attempt
        assert "Authorization" in response.json()["errors"]
    shown = requests.get(url, headers={"Authorization": f"Bearer {settings.api_token}"},
                         timeout=30).json()
    assert shown["variables"]["callerPhoneMasked"].startswith("139****")
    assert not scenario.shows_a_phone(shown)


# -- every user task of every process, tried by every role it is not meant for ---------------

#: Staff with an engine account in no unit: the console shows them read-only pages.
READ_ONLY_USER = "readonly01"
#: Who tries each task: one user of every unit kind, leaders in charge of other units, the
#: workers' account and read-only staff.
ROLES = [*MATRIX, "leadersocial", "leaderrural", READ_ONLY_USER]
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
ACCESS_TABLE = REPO_ROOT / "docs" / "task-access.md"


def user_tasks_of_the_models() -> set[str]:
    """Every user task of every process in bpmn/."""
    return {task.get("id") for path in sorted((REPO_ROOT / "bpmn").glob("*.bpmn"))
            for task in ElementTree.parse(path).iter(f"{BPMN}userTask")}


class ProbingDriver(AppealDriver):
    """Drives appeals as AppealDriver does; the first time a task is worked by its user, every
    other role first tries to see it, claim it and complete it the way Tasklist does
    (`submit-form`, and `complete`), with the values the meant user will submit."""

    def __init__(self, settings, engine: EngineClient, as_user, login):
        super().__init__(settings, engine, as_user)
        self.login = login
        self.tried: dict[tuple[str, str], list[str]] = {}  # (task key, meant user) → roles
        self.calls = 0
        self.findings: list[str] = []

    def work(self, number: str, user: str, key: str, **values) -> dict:
        task = self.task(number, user, key)
        if (key, user) not in self.tried:
            self.check_assignment(task, user)
            self.probe(task, user, to_typed_map(form_schema(task["camundaFormRef"]["key"])
                                                .load(values)))
        if not self.engine.get("/task", taskId=task["id"]):
            return task  # an intruder completed it with the same values: the walk goes on
        return super().work(number, user, key, **values)

    def check_assignment(self, task: dict, user: str) -> None:
        """Assigned to one person or offered to one unit's group, never both."""
        offered = [link["groupId"] or link["userId"] for link in
                   self.engine.get(f"/task/{task['id']}/identity-links", type="candidate")]
        if len(offered) + bool(task["assignee"]) != 1:
            self.findings.append(f"{task['taskDefinitionKey']} ({user}): assigned to "
                                 f"{task['assignee']} and offered to {offered}")

    def probe(self, task: dict, user: str, values: dict) -> None:
        key, task_id = task["taskDefinitionKey"], task["id"]
        wrong = [role for role in ROLES if role != user]
        self.tried[(key, user)] = wrong
        for role in wrong:
            client = self.login(role)
            for call, attempt in (
                    ("see", lambda: client.get(f"/task/{task_id}")),
                    ("claim", lambda: client.post(f"/task/{task_id}/claim", {"userId": role})),
                    ("submit-form", lambda: client.post(f"/task/{task_id}/submit-form",
                                                        {"variables": values})),
                    ("complete", lambda: client.post(f"/task/{task_id}/complete",
                                                     {"variables": values}))):
                self.calls += 1
                try:
                    attempt()
                except EngineError as error:
                    if error.status not in REFUSED:
                        self.findings.append(f"{key} ({user}): {role} {call} → {error.status} "
                                             f"{error}")
                    continue
                self.findings.append(f"{key} ({user}): {role} may {call}")
                if call == "claim":  # give the task back for the next role and the meant user
                    self.engine.post(f"/task/{task_id}/assignee", {"userId": task["assignee"]})
                elif call != "see":
                    return  # completed: no one is left to try it


class DerivedMatrix:
    """Appeals that together pass every user task: intake review; dispatch review, return,
    extension, 1+X consultation, callback, a merged appeal's callback (并案) and on-site
    supervision; three levels of supervision with deputies."""

    def __init__(self, driver: ProbingDriver):
        self.driver = driver
        self.intake_review()
        self.the_long_way()
        self.three_levels_of_supervision()

    def intake_review(self) -> None:
        driver = self.driver
        number = driver.submit(content="我和邻居的房屋买卖合同纠纷已经向法院起诉了, 想让热线督促法院尽快判决")
        driver.work(number, "hotline01", "Task_ReviewIntake", intakeDecision="exclude",
                    intakeNote="已进入诉讼程序, 告知诉求人通过法院渠道解决")

    def the_long_way(self) -> None:
        driver = self.driver
        number = driver.submit(township=None, address="某小区", content="小区物业乱收停车费, 要求退还")
        driver.work(number, "hotline01", "Task_ReviewDispatch", leadUnit="fengcheng",
                    coUnits=["housing"], difficulty="ordinary", urgency="normal")
        merged = driver.submit(township=None, address="某小区", content="小区物业乱收停车费, 多收的要退")
        driver.task(merged, "hotline01", "Task_ReviewDispatch")
        merge_appeal(driver.engine, merged, number, "hotline01")
        driver.work(number, "fengcheng01", "Task_SignForAppeal", signDecision="return",
                    returnReason="该小区不在本街道辖区范围内")
        driver.work(number, "hotline01", "Task_ReviewReturn", returnImproper=True,
                    returnReviewNote="地址属于凤城街道, 退单理由不成立")
        driver.to_reply(number)
        driver.work(number, "fengcheng01", "Task_ReplyAppeal", replyAction="extension",
                    extensionDays=3, extensionReason="需协调物业企业更换, 涉及业主大会表决, 时间较长")
        driver.work(number, "hotline01", "Task_ReviewExtension", extensionGranted=True,
                    extensionDecisionNote="理由充分, 同意延期3个工作日")
        driver.work(number, "fengcheng01", "Task_ReplyAppeal", replyAction="consultation")
        driver.work(number, "fengcheng01", "Task_OpenConsultation", consultationKind="legacy",
                    consultedUnits=["market"], consultationQuestion="停车收费主体与标准不明")
        driver.work(number, "market01", "Task_GiveConsultationOpinion",
                    consultationOpinion="县市场监管局意见: 收费须公示, 本局配合核查")
        driver.work(number, "fengcheng01", "Task_DecideConsultation",
                    consultationMinute="一事一议: 街道牵头, 市场监管配合核查收费",
                    consultationOutcome="solved")
        driver.work(number, "fengcheng01", "Task_ReplyAppeal", solved=False,
                    replyText="经1+X会商, 已责令物业公示收费标准并退还多收费用。")
        driver.work(number, "hotline01", "Task_ReviewReply", replyApproved=True)
        driver.work(merged, "hotline01", "Task_CallbackMergedCaller", callbackReached=True,
                    evaluation="basically_satisfied", solvedConfirmed=True,
                    callbackNote="诉求人知悉主工单的办理结果")
        driver.work(number, "hotline01", "Task_CallbackCaller", callbackReached=True,
                    evaluation="unsatisfied", solvedConfirmed=False, reasonable=True,
                    nextStep="media", callbackNote="多次反映仍未解决")
        driver.work(number, "media01", "Task_SuperviseOnSite",
                    mediaSupervisedAt="2026-12-01T09:30:00+08:00",
                    mediaSupervisionResult="栏目组现场督办, 物业当场公示收费标准")

    def three_levels_of_supervision(self) -> None:
        driver = self.driver
        number = driver.submit()
        driver.fire_timer(number, "Event_SignForOverdue")
        driver.supervise(number, "hotline01", "fengcheng01", verdict="escalate")
        driver.supervise(number, "inspection01", "fengcheng01", verdict="escalate")
        driver.work(number, LEADER_OF_FENGCHENG, "Task_IssueSupervisionOrder",
                    supervisionOrder="请街道牵头三日内拿出整改方案", inviteDeputies=True,
                    invitedBodies=["congress"])
        driver.work(number, "congress01", "Task_GiveDeputyOpinion",
                    deputyOpinion="建议将该小区纳入老旧小区改造计划")
        driver.work(number, "fengcheng01", "Task_RespondToSupervision",
                    supervisionResponse="已约谈物业企业, 方案已报住建局")
        driver.work(number, LEADER_OF_FENGCHENG, "Task_JudgeSupervision",
                    supervisionVerdict="resolved", supervisionVerdictNote="方案可行, 按期落实")


@pytest.fixture(scope="module")
def derived(settings, engine, as_user, login) -> ProbingDriver:
    if not engine.get("/user", id=READ_ONLY_USER):
        engine.post("/user/create", {
            "profile": {"id": READ_ONLY_USER, "firstName": "只读", "lastName": "工作人员",
                        "email": f"{READ_ONLY_USER}@suban.invalid"},
            "credentials": {"password": settings.demo_password}})
    driver = ProbingDriver(settings, engine, as_user, login)
    DerivedMatrix(driver)
    return driver


def test_every_user_task_of_every_process_was_tried(derived):
    assert user_tasks_of_the_models() == {key for key, _ in derived.tried}


def test_no_task_is_seen_claimed_or_completed_by_a_role_it_is_not_meant_for(derived):
    tries = sum(len(roles) for roles in derived.tried.values())
    print(f"\nauthorization matrix: {len(derived.tried)} task assignments × wrong roles = "
          f"{tries} tries, {derived.calls} calls; found {len(derived.findings)}")
    assert not derived.findings, "\n".join(derived.findings)


def test_the_access_table_lists_every_user_task():
    table = ACCESS_TABLE.read_text(encoding="utf-8")
    assert {key for key in user_tasks_of_the_models() if f"`{key}`" not in table} == set()


# -- default passwords: the demo profile only ---------------------------------------------------

SECRETS = {"SUBAN_ADMIN_PASSWORD": "admin-secret-1", "SUBAN_WORKER_PASSWORD": "worker-secret-2",
           "SUBAN_DEMO_PASSWORD": "units-secret-3", "SUBAN_API_TOKEN": "api-secret-4"}


@pytest.mark.parametrize("kept", SECRETS)
def test_production_up_names_each_demo_secret_and_starts_nothing(tmp_path, kept):
    own = stack_settings(tmp_path, SUBAN_PROFILE="production",
                         **{name: value for name, value in SECRETS.items() if name != kept})
    result = run_suban(own, "up", timeout=60)
    assert result.returncode == 1
    assert f"SUBAN_PROFILE=production refuses the demo secrets still in {kept}:" in result.stderr
    assert not (tmp_path / "run").exists()


def test_an_unknown_profile_is_refused_by_name(tmp_path):
    result = run_suban(stack_settings(tmp_path), "status", env={"SUBAN_PROFILE": "prod"}, timeout=60)
    assert result.returncode == 1
    assert "SUBAN_PROFILE='prod' is not one of demo, production" in result.stderr


def test_production_engine_refuses_the_demo_admin_password(settings, tmp_path):
    """The engine checks too: a service manager may start it without `suban up`."""
    own = stack_settings(tmp_path, SUBAN_PROFILE="production", SUBAN_ADMIN_PASSWORD="demo")
    engine = next(item for item in stack.COMPONENTS if item.name == "engine")
    log = tmp_path / "engine.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(engine.command(own), cwd=tmp_path, env=os.environ | own.to_env(),
                                   stdout=output, stderr=subprocess.STDOUT)
    try:
        assert process.wait(timeout=180) != 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "SUBAN_PROFILE=production refuses the demo password of the administrator: set " \
        "SUBAN_ADMIN_PASSWORD" in log.read_text(errors="replace")
    assert not stack.port_in_use(own.engine_port)
