"""Long actions of the console (checks and deployment, migration, the assessment sync, demo
appeals) as jobs: one of a kind at a time, a second start meanwhile is refused (409) whoever
asks; the page follows a job's progress (n of N where known), elapsed time and, once it ends,
its result or error, which stay on the page after a reload until the next job of the kind.

A page starts a job by posting its form (`<form data-job="kind">`, see console.js); the view
checks the form, then `JobKind.start(work)` runs `work(job)` in a thread of its own and answers
202 with the job's state; `GET /jobs/<kind>` tells the state. An API call that answers with the
result (`POST /api/v1/assessment/sync`) runs the same job in its request: `JobKind.run(work)`.
A job lives in the console process's memory (the console is one process).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
import typing

import flask_login
from flask import Blueprint, current_app, g
from marshmallow import Schema, fields
from werkzeug.exceptions import Conflict, NotFound

from admin_data.workdays import SHANGHAI
from console.admin import auth
from console.api import error_response
from console.layout import MINUTE_FORMAT

jobs = Blueprint("jobs", __name__, url_prefix="/jobs")


class JobFailed(Exception):
    """A job's business outcome that is no success (checks found problems, the engine refused):
    its lines are shown as the job's error."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


class JobRunning(Conflict):
    """A second start of a kind whose job still runs."""


@dataclasses.dataclass
class Job:
    kind: str
    title: str
    user: str
    started: dt.datetime = dataclasses.field(default_factory=lambda: dt.datetime.now(SHANGHAI))
    clock: float = dataclasses.field(default_factory=time.monotonic)
    done: int = 0
    total: int | None = None  # unknown: elapsed time only
    step: str = ""
    finished: dt.datetime | None = None
    elapsed: float | None = None
    lines: list[str] = dataclasses.field(default_factory=list)
    failed: bool = False

    def progress(self, done: int, total: int | None = None, step: str | None = None) -> None:
        """Called by the work as it goes: `done` of `total`, and what it does now."""
        self.done = done
        if total is not None:
            self.total = total
        if step is not None:
            self.step = step

    def end(self, lines: list[str], failed: bool = False) -> None:
        self.lines, self.failed = lines, failed
        self.elapsed = time.monotonic() - self.clock
        self.finished = dt.datetime.now(SHANGHAI)

    @property
    def running(self) -> bool:
        return self.finished is None


class JobStateSchema(Schema):
    kind = fields.String(required=True)
    title = fields.String(required=True)
    running = fields.Boolean(required=True)
    user = fields.String(allow_none=True)
    started = fields.String(allow_none=True, metadata={"description": "北京时间 YYYY-MM-DD HH:mm"})
    finished = fields.String(allow_none=True)
    elapsed_s = fields.Integer(allow_none=True)
    done = fields.Integer()
    total = fields.Integer(allow_none=True)
    step = fields.String()
    lines = fields.List(fields.String())
    failed = fields.Boolean()


class JobKind:
    """One kind of long action: who may start and follow it, and its latest job."""

    def __init__(self, name: str, title: str, roles: tuple[str, ...],
                 describe: typing.Callable[[typing.Any], list[str]] = list):
        """`describe`: the result lines of what the work returns (by default its lines)."""
        self.name, self.title, self.roles, self.describe = name, title, roles, describe
        self.latest: Job | None = None
        self._lock = threading.Lock()
        KINDS[name] = self

    def _claim(self) -> Job:
        with self._lock:
            job = self.latest
            if job is not None and job.running:
                of = f", 已完成 {job.done}/{job.total}" if job.total else ""
                raise JobRunning(f"「{self.title}」正在进行 ({job.user} 于 "
                                 f"{job.started.strftime(MINUTE_FORMAT)} 开始{of}), "
                                 "请等它结束后再试")
            self.latest = Job(self.name, self.title, _starter())
            return self.latest

    def start(self, work: typing.Callable[[Job], list[str]]) -> Job:
        """Run `work(job)` in the background (with the app's context); its lines are the
        result. JobRunning while another job of this kind runs."""
        job = self._claim()
        app = current_app._get_current_object()

        def run():
            with app.app_context():
                self._finish(job, work, reraise=False)
        threading.Thread(target=run, name=f"job-{self.name}", daemon=True).start()
        return job

    def run(self, work: typing.Callable[[Job], typing.Any]):
        """Run `work(job)` in this request and return what it returns; an error is recorded
        on the job and raised."""
        job = self._claim()
        return self._finish(job, work, reraise=True)

    def _finish(self, job: Job, work, reraise: bool):
        try:
            value = work(job)
        except JobFailed as failure:
            job.end(failure.lines, failed=True)
            if reraise:
                raise
            return None
        except Exception as error:  # shown on the page; the details go to the log
            current_app.logger.exception("job %s failed", job.kind)
            job.end([f"出错, 未完成: {error}"], failed=True)
            if reraise:
                raise
            return None
        job.end(self.describe(value))
        return value

    def state(self) -> dict:
        job = self.latest
        if job is None:
            return {"kind": self.name, "title": self.title, "running": False}
        elapsed = time.monotonic() - job.clock if job.running else job.elapsed
        return JobStateSchema().dump({
            "kind": job.kind, "title": job.title, "running": job.running, "user": job.user,
            "started": job.started.strftime(MINUTE_FORMAT),
            "finished": job.finished and job.finished.strftime(MINUTE_FORMAT),
            "elapsed_s": round(elapsed), "done": job.done, "total": job.total,
            "step": job.step, "lines": job.lines, "failed": job.failed})

    def started(self, work: typing.Callable[[Job], list[str]]):
        """The answer of a page's start request: 202 with the state, or 409 naming the job
        that runs (the page then follows that one)."""
        try:
            self.start(work)
        except JobRunning as refusal:
            return error_response({"_job": [refusal.description]}, 409)
        return self.state(), 202


KINDS: dict[str, JobKind] = {}


def _starter() -> str:
    """Who starts a job: the logged-in user, or the API client."""
    user = flask_login.current_user
    if user.is_authenticated:
        return user.id
    client = g.get("api_client")
    return f"接口客户端「{client.name}」" if client else "接口客户端"


@jobs.get("/<kind>")
def job_state(kind: str):
    """The state of the latest job of a kind (for the page that follows it)."""
    if kind not in KINDS:
        raise NotFound(f"没有这种操作: {kind}")
    refused = auth.refuse_unless(*KINDS[kind].roles)
    if refused:
        return error_response({"_login": ["登录已过期, 请重新登录"]}, 401)
    return KINDS[kind].state()
