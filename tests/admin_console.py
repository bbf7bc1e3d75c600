"""The console's pages the way a browser uses them: a session cookie from the login form, the
CSRF token from the page, forms posted as a browser posts them."""
from __future__ import annotations

import html
import re

import requests

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


class ConsoleSession:
    def __init__(self, settings, user_id: str | None = None, password: str | None = None):
        self.base = settings.console_url
        self.http = requests.Session()
        self.csrf_token = self.token_of(self.get("/login"))
        if user_id:
            response = self.post("/login", {"username": user_id, "password": password})
            assert response.status_code == 302, response.text
            self.csrf_token = self.token_of(self.get("/"))  # a new session at login

    @staticmethod
    def token_of(response: requests.Response) -> str:
        return CSRF_FIELD.search(response.text).group(1)

    def get(self, path: str, **params) -> requests.Response:
        return self.http.get(self.base + path, params=params, allow_redirects=False, timeout=60)

    def post(self, path: str, data: dict | None = None, *, csrf: bool = True,
             files=None) -> requests.Response:
        data = dict(data or {}) | ({"csrf_token": self.csrf_token} if csrf else {})
        return self.http.post(self.base + path, data=data, files=files, allow_redirects=False,
                              timeout=300)

    def job(self, kind: str, started: requests.Response, timeout: float = 600) -> dict:
        """The state of the job a post started (202 Accepted), once the job has ended."""
        from tests.conftest import wait_until  # conftest imports this module

        assert started.status_code == 202, started.text
        states = []

        def ended() -> bool:
            states.append(self.get(f"/jobs/{kind}").json())
            return not states[-1]["running"]
        wait_until(ended, timeout=timeout, interval=0.5, what=f"the end of the {kind} job")
        return states[-1]


def errors_of(response: requests.Response) -> str:
    found = re.search(r'<div class="errors" role="alert">(.*?)</div>', response.text, re.S)
    return html.unescape(found.group(1)) if found else ""
