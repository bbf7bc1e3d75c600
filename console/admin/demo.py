"""The 演示数据 page: the admin runs demo appeals (console/demo_appeals.py) through the engine as
a job, with the count of appeals; registered through the console's own intake, then worked
until closed. Only in the demo profile: the production profile holds real appeals."""
from __future__ import annotations

from flask import render_template, request
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from console.admin import admin, settings, store, user_id
from console.admin.auth import ADMIN
from console.api import error_response
from console.appeals import take_in
from console.demo_appeals import run_demo
from console.jobs import Job, JobKind

DEMO_JOB = JobKind("demo-appeals", "生成演示工单", (ADMIN,))
MAX_DEMO_APPEALS = 2000


class DemoFormSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # the CSRF token

    count = fields.Integer(required=True, strict=False, validate=validate.Range(
        min=1, max=MAX_DEMO_APPEALS, error=f"「工单数量」应为 1 到 {MAX_DEMO_APPEALS}"),
        error_messages={"required": "请填写「工单数量」", "invalid": "「工单数量」应为整数"})
    seed = fields.Integer(load_default=2026, error_messages={"invalid": "「随机种子」应为整数"})


def _register(payload: dict) -> str:
    """One demo appeal through the intake every channel shares."""
    response, status = take_in(payload)
    if status >= 400:
        raise RuntimeError(f"受理被拒绝: {response.get_json()['errors']}")
    return response.get_json()["appealNumber"]


def _production() -> bool:
    return settings().profile == "production"


@admin.get("/demo")
def demo_page():
    return render_template("admin/demo.html", production=_production(),
                           max_count=MAX_DEMO_APPEALS)


@admin.post("/demo")
def start_demo():
    """Run demo appeals as a job (202); a wrong count is refused (400), so is the production
    profile."""
    if _production():
        return error_response({"_profile": ["生产环境不生成演示工单 (SUBAN_PROFILE=production)"]})
    try:
        values = DemoFormSchema().load(request.form.to_dict())
    except ValidationError as error:
        return error_response(error.messages)
    user = user_id()
    stack = settings()

    def work(job: Job) -> list[str]:
        numbers = run_demo(stack, values["count"], values["seed"], register=_register,
                           on_progress=lambda done, total, step: job.progress(done, total, step))
        store().record(user, "生成演示工单", f"{len(numbers)} 件", "演示数据",
                       f"{numbers[0]} … {numbers[-1]}")
        return [f"已生成并办结 {len(numbers)} 件演示工单: {numbers[0]} … {numbers[-1]}",
                "考核数据在「考核与研判」页打开时同步"]
    return DEMO_JOB.started(work)
