"""Drive appeals the way people do: the API for intake, Tasklist's REST calls for tasks."""
from __future__ import annotations

import requests

from console.form_schema import form_schema
from external_tasks.camunda import EngineClient, to_typed_map
from tests.conftest import wait_until

TASK_FORMS = {
    "Task_ReviewIntake": "intake_review", "Task_ReviewDispatch": "dispatch_review",
    "Task_SignForAppeal": "sign_for", "Task_HandleAppeal": "handle", "Task_AssistAppeal": "assist",
    "Task_ReplyAppeal": "reply", "Task_ReviewReply": "reply_review",
    "Task_ReviewReturn": "return_review", "Task_CallbackCaller": "callback",
    "Task_SuperviseOnSite": "media_supervision",
}


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
                   "callerPhone": "13912345678"} | fields
        response = self.post({key: value for key, value in payload.items() if value is not None})
        assert response.status_code == 201, response.text
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
        checked = form_schema(TASK_FORMS[key]).load(values)
        client = self.as_user(user)
        client.post(f"/task/{task['id']}/claim", {"userId": user})
        client.post(f"/task/{task['id']}/submit-form", {"variables": to_typed_map(checked)})
        return task

    def closed(self, number: str, timeout: float = 30) -> dict:
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
        job = wait_until(pending_job, what=f"timer {activity_id} of {number}")
        self.engine.post(f"/job/{job['id']}/execute")

    def _belongs(self, job: dict, number: str) -> bool:
        return self._belongs_instance(job["processInstanceId"], number)

    def _belongs_instance(self, instance_id: str, number: str) -> bool:
        instance = self.engine.get(f"/history/process-instance/{instance_id}")
        return instance["businessKey"] == number
