"""Drive appeals the way people do: the API for intake, Tasklist's REST calls for tasks."""
from __future__ import annotations

import random

import requests

from console.form_schema import form_schema
from external_tasks.camunda import EngineClient, to_typed_map
from external_tasks.runtime import retry_on_conflict
from tests.conftest import wait_until



# Drawn without replacement, and never 1234 (the fixed caller 13912345678 of other tests): the
# session keeps every appeal, and independent draws met an earlier caller now and then.
_UNUSED_MIDDLES = iter(random.sample([n for n in range(10_000) if n != 1234], 9_999))


def unique_phone() -> str:
    """A caller of her own (same masked form 139****5678): the same phone within the repeat
    window would make the appeal a repeated, important one."""
    return f"139{next(_UNUSED_MIDDLES):04d}5678"


class AppealDriver:
    def __init__(self, settings, engine: EngineClient, as_user):
        self.settings = settings
        self.engine = engine
        self.as_user = as_user

    # -- intake --------------------------------------------------------------------------------
    def post(self, payload, token: str | None = None):
        return requests.post(f"{self.settings.console_url}/api/v1/appeals", json=payload,
                             headers={"Authorization": f"Bearer {token or self.settings.api_token}"},
                             timeout=30)

    def submit(self, **fields) -> str:
        payload = {"kind": "complaint", "categoryCode": "construction.propertyService",
                   "title": "小区物业不清理垃圾", "content": "小区楼道垃圾堆积一周无人清理, 物业不作为",
                   "township": "fengcheng", "callerName": "王小明",
                   "callerPhone": unique_phone()} | fields
        response = self.post({key: value for key, value in payload.items() if value is not None})
        # 202: the engine answered slowly (a loaded machine); the outbox relay starts it.
        assert response.status_code in (201, 202), response.text
        return response.json()["appealNumber"]

    def status(self, number: str) -> dict:
        response = requests.get(f"{self.settings.console_url}/api/v1/appeals/{number}",
                                headers={"Authorization": f"Bearer {self.settings.api_token}"},
                                timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    # -- tasks ---------------------------------------------------------------------------------
    def task(self, number: str, user: str, key: str, timeout: float = 30) -> dict:
        """Wait until `user` sees the task `key` of appeal `number`."""
        client = self.as_user(user)
        return wait_until(lambda: next(iter(client.get(
            "/task", processInstanceBusinessKey=number, taskDefinitionKey=key)), None),
            timeout=timeout, what=f"{user} to see {key} of {number}")

    def task_variables(self, user: str, task: dict) -> dict:
        return self.as_user(user).get(f"/task/{task['id']}/form-variables")

    def work(self, number: str, user: str, key: str, **values) -> dict:
        """Claim and complete a task as `user`, with values the task's form accepts."""
        task = self.task(number, user, key)
        checked = form_schema(task["camundaFormRef"]["key"]).load(values)
        client = self.as_user(user)
        client.post(f"/task/{task['id']}/claim", {"userId": user})
        retry_on_conflict(lambda: client.post(f"/task/{task['id']}/submit-form",
                                              {"variables": to_typed_map(checked)}))
        return task

    def handle_to_reply(self, number: str, lead: str = "fengcheng01") -> None:
        """Sign for and handle: the lead unit's reply waits for the co-unit's opinion."""
        self.work(number, lead, "Task_SignForAppeal", signDecision="accept")
        self.work(number, lead, "Task_HandleAppeal", firstFeedbackAt="2026-11-28T10:00:00+08:00",
                  firstFeedbackMethod="phone", progressNote="已联系物业公司, 约定三日内清理完毕")

    def to_reply(self, number: str) -> dict:
        """Sign, handle and assist: the lead unit's reply task, ready."""
        self.handle_to_reply(number)
        self.work(number, "housing01", "Task_AssistAppeal", assistOpinion="配合督促物业整改到位")
        return self.task(number, "fengcheng01", "Task_ReplyAppeal")

    def reply_approved(self, number: str, reply_text: str, solved: bool = True) -> None:
        """Sign, handle, assist, reply and review: the appeal reaches the callback."""
        self.to_reply(number)
        self.work(number, "fengcheng01", "Task_ReplyAppeal", replyText=reply_text, solved=solved)
        self.work(number, "hotline01", "Task_ReviewReply", replyApproved=True)

    def supervise(self, number: str, supervisor: str, unit: str, verdict: str,
                  **order) -> None:
        """One level of 督办: the supervisor issues the order, the unit responds, the
        supervisor gives the verdict."""
        self.work(number, supervisor, "Task_IssueSupervisionOrder",
                  supervisionOrder="请于督办期限内办结并反馈办理情况", **order)
        self.work(number, unit, "Task_RespondToSupervision",
                  supervisionResponse="已成立专班, 当日联系诉求人并现场处理")
        self.work(number, supervisor, "Task_JudgeSupervision", supervisionVerdict=verdict,
                  supervisionVerdictNote=f"督办结果: {verdict}")

    def closed(self, number: str, timeout: float = 60) -> dict:
        return wait_until(lambda: (status := self.status(number))["status"] == "closed" and status,
                          timeout=timeout, what=f"{number} to close")

    def fire_timer(self, number: str, activity_id: str) -> None:
        """Fire the appeal's pending timer `activity_id` now, through the job API."""
        def pending_job():
            for definition in self.engine.get("/job-definition", activityIdIn=activity_id):
                for job in self.engine.get("/job", jobDefinitionId=definition["id"]):
                    if self._belongs(job, number):
                        return job
            return None
        job = wait_until(pending_job, timeout=60, what=f"timer {activity_id} of {number}")
        self.engine.post(f"/job/{job['id']}/execute")

    def _belongs(self, job: dict, number: str) -> bool:
        return self._belongs_instance(job["processInstanceId"], number)

    def _belongs_instance(self, instance_id: str, number: str) -> bool:
        instance = self.engine.get(f"/history/process-instance/{instance_id}")
        return instance["businessKey"] == number
