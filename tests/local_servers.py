"""Real local servers the connector tests send to — an HTTP server standing in for the SMS
gateway and the group-chat robots, an aiosmtpd handler — and the test notification settings."""
from __future__ import annotations

import email
import email.policy
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from admin_data.notifications import NOTIFICATIONS

#: Where the caller SMS go on the stand-in gateway.
CALLER_SMS = "/sms"

PHONE = "13812345678"
NAME = "张三丰"

APPEAL = {
    "appealNumber": "XX12345-20250305-0012",
    "kind": "complaint",
    "categoryName": "城乡建设 / 物业服务",
    "title": "小区电梯停运两周无人维修",
    "content": "凤鸣小区3号楼电梯已停运两周，物业称在等配件，老人上下楼困难。",
    "township": "fengcheng",
    "address": "凤鸣小区3号楼",
    "leadUnit": "housing",
    "coUnits": ["fengcheng", "market"],
    "callerName": NAME,
    "callerPhone": PHONE,
    "confidential": False,
    "signForDeadline": "2025-03-06T17:30:00+08:00",
    "feedbackDeadline": "2025-03-12T17:30:00+08:00",
    "completionDeadline": "2025-03-19T17:30:00+08:00",
    "overdue": False,
}

FAST_DELIVERY = {"timeout_s": 0.5, "attempts": 3, "backoff_s": 0.05, "backoff_max_s": 0.2}


class RecordingGateway:
    """An HTTP server on 127.0.0.1 that records every POST and answers as planned: 200 with
    {"errcode": 0} by default, or the next planned status, or a hang past the client's timeout."""

    def __init__(self):
        self.requests: list[dict] = []
        # Planned answers by path (None: any path). int: answer this status; float: hang so long.
        self._plans: dict[str | None, list[int | float]] = {}
        self._lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                action = gateway._next_action(self.path)
                gateway.requests.append({
                    "path": self.path, "headers": dict(self.headers),
                    "body": json.loads(body) if body else None, "raw": body.decode(),
                    "status": "hung" if isinstance(action, float) else action,
                    "at": time.monotonic()})
                if isinstance(action, float):
                    time.sleep(action)
                    action = 200
                answer = json.dumps({"errcode": 0 if action < 400 else 1, "errmsg": "ok"}).encode()
                try:
                    self.send_response(action)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting, as intended

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def _next_action(self, path: str) -> int | float:
        with self._lock:
            for plan in (self._plans.get(path), self._plans.get(None)):
                if plan:
                    return plan.pop(0)
            return 200

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def fail_next(self, count: int, status: int = 500, path: str | None = None) -> None:
        with self._lock:
            self._plans.setdefault(path, []).extend([status] * count)

    def hang_next(self, count: int, seconds: float, path: str | None = None) -> None:
        with self._lock:
            self._plans.setdefault(path, []).extend([float(seconds)] * count)

    def accepted(self, path: str) -> list[dict]:
        return [request for request in self.requests
                if request["path"] == path and request["status"] == 200]

    def to(self, path: str) -> list[dict]:
        return [request for request in self.requests if request["path"] == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class RecordingSmtp:
    """aiosmtpd handler: keeps every accepted message; can answer DATA with planned codes."""

    def __init__(self):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.data_attempts = 0
        self.refuse_next: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        self.data_attempts += 1
        if self.refuse_next:
            return self.refuse_next.pop(0)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"


def write_config(tmp_path: Path, *, units: dict | None = None, delivery: dict | None = None,
                 templates: dict | None = None, smtp: dict | None = None) -> Path:
    """The shipped notifications.yaml with test channels and fast retries."""
    data = yaml.safe_load(NOTIFICATIONS.path().read_text(encoding="utf-8"))
    data["units"] = units or {}
    data["delivery"] = delivery or FAST_DELIVERY
    if templates:
        data["templates"] = data["templates"] | templates
    if smtp:
        data["smtp"] = data["smtp"] | smtp
    path = tmp_path / "notifications.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def server_env(gateway: RecordingGateway | None = None, smtp: RecordingSmtp | None = None) -> dict:
    env = {}
    if gateway:
        env |= {"SUBAN_SMS_URL": gateway.url("/sms"), "SUBAN_SMS_SIGN": "萧县12345",
                "SUBAN_SMS_TOKEN": "test-token"}
    if smtp:
        env |= {"SUBAN_SMTP_HOST": "127.0.0.1", "SUBAN_SMTP_PORT": str(smtp.port),
                "SUBAN_SMTP_TLS": "none", "SUBAN_SMTP_FROM": "萧县12345 <12345@example.cn>"}
    return env


class RecordingSleep:
    def __init__(self):
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        time.sleep(seconds)


