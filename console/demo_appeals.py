"""Demo appeals (`suban demo-appeals`, and the admin's 演示数据 page): realistic appeals run
through the real engine, for demos of 考核 and 研判.

Each appeal gets a plan drawn from the appeal mix of DOMAIN.md (kinds as 淮北 2021; townships
and auto-dispatched categories of the admin files) and outcomes a hotline sees: answered on
the call, improper returns, missed sign-for / feedback / completion deadlines (their timers
fired through the job API, which starts the level-1 supervision the model prescribes),
unsatisfied callers re-dispatched, callers not reached. Appeals are registered through the
console's intake like any other (its API from the command line, the intake itself from the
console); then a task pump completes every task of the demo appeals as the plan says, through
the same form rules Tasklist applies, until all are closed. Runs against the stack of the given
settings.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import random
import time
import typing

import requests

from console.form_schema import form_schema
from admin_data.directory import DIRECTORY
from admin_data.environment import Settings
from external_tasks.appeal import APPEAL_PROCESS
from external_tasks.camunda import EngineClient, to_typed_map
from admin_data.taxonomy import load_taxonomy
from external_tasks.runtime import retry_on_conflict
from admin_data.workdays import SHANGHAI

KIND_MIX = {"complaint": 51.3, "inquiry": 34.3, "help": 2.6, "suggestion": 1.2, "report": 0.15}
LATE_STEPS = {"sign_for": "Event_SignForOverdue", "feedback": "Event_FeedbackOverdue",
              "completion": "Event_CompletionOverdue"}
#: The unit task whose appearance means a deadline's timer is armed.
ARMED_BY = {"sign_for": "Task_SignForAppeal", "feedback": "Task_HandleAppeal",
            "completion": "Task_HandleAppeal"}
TEXTS = {
    "complaint": ("反映问题长期未解决", "多次反映未果, 影响周边居民正常生活, 请相关部门尽快处理"),
    "inquiry": ("咨询办理流程", "想了解相关业务的办理条件、所需材料和办理地点"),
    "help": ("请求帮助解决困难", "家中老人行动不便, 遇到实际困难, 希望有关部门给予帮助"),
    "suggestion": ("关于改进工作的建议", "建议相关部门完善便民措施, 方便群众办事"),
    "report": ("举报违规行为", "发现有商户违规经营, 请相关部门依法查处"),
}


@dataclasses.dataclass
class Plan:
    kind: str
    category_code: str
    township: str
    answered_on_call: bool = False
    late: str | None = None               # sign_for | feedback | completion
    improper_return: bool = False
    callbacks: list[str] = dataclasses.field(default_factory=lambda: ["satisfied"])
    fired: set = dataclasses.field(default_factory=set)
    returned: bool = False


def draw_plans(count: int, seed: int) -> list[Plan]:
    rng = random.Random(seed)
    directory = DIRECTORY.current()
    townships = [unit.id for unit in directory.units if unit.territorial]
    # Auto-dispatched categories led by a township or without co-units keep the demo moving
    # without the centre's manual dispatch.
    leaves = [leaf for leaf in load_taxonomy(directory=directory).leaves if leaf.auto_dispatch]
    plans = []
    for _ in range(count):
        kind = rng.choices(list(KIND_MIX), weights=list(KIND_MIX.values()))[0]
        plan = Plan(kind, rng.choice(leaves).code, rng.choice(townships))
        if kind == "inquiry" and rng.random() < 0.3:
            plan.answered_on_call = True
        else:
            draw = rng.random()
            plan.late = ("sign_for" if draw < 0.04 else "feedback" if draw < 0.09
                         else "completion" if draw < 0.15 else None)
            plan.improper_return = rng.random() < 0.02
            evaluation = rng.choices(["satisfied", "basically_satisfied", "unsatisfied",
                                      "not_reached"], weights=[74, 14, 8, 4])[0]
            plan.callbacks = ({"unsatisfied": ["unsatisfied_redispatch", "basically_satisfied"]
                               if rng.random() < 0.5 else ["unsatisfied_closed"],
                               "not_reached": ["not_reached"] * 3}.get(evaluation, [evaluation]))
        plans.append(plan)
    return plans


class TaskPump:
    """Completes the demo appeals' tasks as their plans say, as the engine's administrator."""

    def __init__(self, engine: EngineClient, plans: dict[str, Plan]):
        self.engine = engine
        self.plans = plans
        self.numbers: dict[str, str] = {}  # process instance id → appeal number

    def number_of(self, instance_id: str) -> str:
        if instance_id not in self.numbers:
            self.numbers[instance_id] = self.engine.get(
                f"/history/process-instance/{instance_id}")["businessKey"]
        return self.numbers[instance_id]

    def open_numbers(self) -> set[str]:
        running = self.engine.post("/history/process-instance?maxResults=100000", {
            "processDefinitionKey": APPEAL_PROCESS, "unfinished": True,
            "processInstanceBusinessKeyIn": list(self.plans)})
        return {instance["businessKey"] for instance in running}

    def run(self, on_closed: typing.Callable[[int], None], stall_s: float = 120,
            threads: int = 2) -> None:
        """Work every open task until all appeals are closed: one task per appeal at a time
        (two tasks of one appeal at once would conflict in the engine), appeals in parallel."""
        open_now = self.open_numbers()
        last_progress = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            while open_now:
                next_task: dict[str, dict] = {}
                for task in self.engine.post("/task?maxResults=1000", {
                        "processInstanceBusinessKeyIn": sorted(open_now)}):
                    next_task.setdefault(self.number_of(task["processInstanceId"]), task)
                worked = sum(pool.map(self.work, next_task.values()))
                still_open = self.open_numbers()
                if still_open != open_now or worked:
                    last_progress = time.monotonic()
                on_closed(len(open_now) - len(still_open))
                open_now = still_open
                if time.monotonic() - last_progress > stall_s:
                    raise RuntimeError(f"demo appeals stalled: {len(open_now)} still open, "
                                       f"e.g. {sorted(open_now)[:5]}")
                if not worked:
                    time.sleep(0.5)  # workers are between steps

    def work(self, task: dict) -> int:
        number = self.number_of(task["processInstanceId"])
        plan = self.plans[number]
        key = task["taskDefinitionKey"]
        if plan.late and plan.late not in plan.fired and key == ARMED_BY[plan.late]:
            self.fire(task["processInstanceId"], LATE_STEPS[plan.late])
            plan.fired.add(plan.late)
            return 1
        values = self.values(plan, task)
        if values is None:
            return 0
        form = task["camundaFormRef"]["key"]
        checked = to_typed_map(form_schema(form).load(values))
        # A worker or timer of the same appeal may change it at that moment.
        retry_on_conflict(lambda: self.engine.post(f"/task/{task['id']}/submit-form",
                                                   {"variables": checked}))
        if key == "Task_CallbackCaller" and not values["callbackReached"] and plan.callbacks:
            self.fire_when_armed(task["processInstanceId"], "Event_CallbackRetryDue")
        return 1

    def fire(self, instance_id: str, activity_id: str) -> None:
        for job in self.engine.get("/job", processInstanceId=instance_id, activityId=activity_id):
            self.engine.post(f"/job/{job['id']}/execute")

    def fire_when_armed(self, instance_id: str, activity_id: str, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.engine.get("/job", processInstanceId=instance_id, activityId=activity_id):
            if time.monotonic() > deadline:
                raise RuntimeError(f"timer {activity_id} of {instance_id} never came")
            time.sleep(0.2)
        self.fire(instance_id, activity_id)

    def values(self, plan: Plan, task: dict) -> dict | None:
        key = task["taskDefinitionKey"]
        if key == "Task_SignForAppeal":
            if plan.improper_return and not plan.returned:
                plan.returned = True
                return {"signDecision": "return", "returnReason": "经核实不属于本单位职责范围"}
            return {"signDecision": "accept"}
        if key == "Task_CallbackCaller":
            return self.callback(plan, task)
        now = dt.datetime.now(SHANGHAI).replace(microsecond=0).isoformat()
        return {
            "Task_ReviewReturn": {"returnImproper": True, "returnReviewNote": "属本单位职责, 退单理由不成立"},
            "Task_HandleAppeal": {"firstFeedbackAt": now, "firstFeedbackMethod": "phone",
                                  "progressNote": "已联系诉求人了解情况, 正在协调处理"},
            "Task_AssistAppeal": {"assistOpinion": "已按职责配合处理"},
            "Task_ReplyAppeal": {"replyAction": "reply", "solved": True,
                                 "replyText": "经核查, 已按规定处理完毕并向诉求人说明情况。"},
            "Task_ReviewReply": {"replyApproved": True},
            "Task_IssueSupervisionOrder": {"supervisionOrder": "请于督办期限内办结并反馈办理情况"},
            "Task_RespondToSupervision": {"supervisionResponse": "已成立专班, 当日联系诉求人并处理"},
            "Task_JudgeSupervision": {"supervisionVerdict": "resolved",
                                      "supervisionVerdictNote": "督办事项已办结"},
            "Task_ReviewIntake": {"intakeDecision": "accept", "intakeNote": "经审核予以受理"},
        }.get(key) or self.unplanned(task)

    def callback(self, plan: Plan, task: dict) -> dict | None:
        if not plan.callbacks:
            return self.unplanned(task)
        outcome = plan.callbacks.pop(0)
        if outcome == "not_reached":
            return {"callbackReached": False, "callbackNote": "回访无人接听"}
        evaluation = outcome.split("_redispatch")[0].split("_closed")[0]
        values = {"callbackReached": True, "evaluation": evaluation,
                  "solvedConfirmed": evaluation != "unsatisfied", "callbackNote": "已回访"}
        if evaluation == "unsatisfied":
            redispatch = outcome.endswith("redispatch")
            values |= {"reasonable": redispatch,
                       "nextStep": "redispatch" if redispatch else "close"}
        return values

    def unplanned(self, task: dict) -> None:
        raise RuntimeError(f"demo appeals: no plan for task {task['taskDefinitionKey']} "
                           f"({task['name']}) of instance {task['processInstanceId']}")


#: What run_demo reports as it goes: steps done, steps in all (two per appeal: registered,
#: then closed), and what it does.
Progress = typing.Callable[[int, int, str], None]
#: Registers one appeal (the intake's JSON body) and returns its number.
Register = typing.Callable[[dict], str]


def api_register(settings: Settings) -> Register:
    """Registration through the console API with the settings' token."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {settings.api_token}"

    def register(payload: dict) -> str:
        response = session.post(f"{settings.console_url}/api/v1/appeals", json=payload,
                                timeout=60)
        response.raise_for_status()
        return response.json()["appealNumber"]
    return register


def run_demo(settings: Settings, count: int, seed: int = 2026,
             register: Register | None = None,
             on_progress: Progress = lambda done, total, step: None) -> list[str]:
    """Register `count` planned appeals, work them until all are closed; returns the numbers."""
    register = register or api_register(settings)
    # A loaded engine may take long over a history query while it works the demo's steps.
    engine = EngineClient(settings.engine_rest_url, settings.admin_user, settings.admin_password,
                          timeout_s=180)
    plans: dict[str, Plan] = {}
    for plan in draw_plans(count, seed):
        title, content = TEXTS[plan.kind]
        payload = {"kind": plan.kind, "categoryCode": plan.category_code, "title": title,
                   "content": content, "township": plan.township,
                   "callerPhone": f"139{random.Random(len(plans)).randrange(10**8):08d}"}
        if plan.answered_on_call:
            payload |= {"answeredOnCall": True, "answer": "已当场解答相关政策和办理流程。"}
        plans[register(payload)] = plan
        on_progress(len(plans), count * 2, f"已登记 {len(plans)} 件")
    closed = 0

    def on_closed(appeals: int) -> None:
        nonlocal closed
        closed += appeals
        on_progress(count + closed, count * 2, f"已办结 {closed} 件")
    TaskPump(engine, plans).run(on_closed)
    return list(plans)
