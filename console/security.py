"""What every console response carries and how logins are slowed down.

- Security headers on every route: a CSP that allows scripts only from the console itself (no
  inline script: each page loads its own file), no framing (`frame-ancestors` and
  X-Frame-Options), the referrer only within the console, no content-type guessing.
- The session cookie is HttpOnly and SameSite=Lax always, and Secure whenever the request came
  over HTTPS (nginx in front says so with X-Forwarded-Proto, believed only from the
  SUBAN_TRUSTED_PROXIES proxies in front: `create_app`).
- Login throttle: too many wrong passwords for one user name, or from one address, within the
  window lock that name or address for a while; the lockout goes into the audit trail.
"""
from __future__ import annotations

import collections
import dataclasses
import math
import threading
import time

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface

HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' "
                               "'unsafe-inline'; img-src 'self' data:; object-src 'none'; "
                               "base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


class SessionCookieOverHttps(SecureCookieSessionInterface):
    """Secure when the request came over HTTPS, so the cookie never travels in clear text, while
    a plain-HTTP console on 127.0.0.1 (the demo) still keeps its session."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


@dataclasses.dataclass(frozen=True)
class ThrottleRule:
    what: str  # 用户 or 地址, for the message and the audit
    failures: int
    window_s: float
    lockout_s: float


USER_RULE = ThrottleRule("用户", failures=5, window_s=15 * 60, lockout_s=15 * 60)
ADDRESS_RULE = ThrottleRule("地址", failures=20, window_s=15 * 60, lockout_s=15 * 60)


class LoginThrottle:
    """Failed logins per user name and per address, in this console process."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.lock = threading.Lock()
        self.failures: dict[tuple[str, str], collections.deque] = collections.defaultdict(
            collections.deque)
        self.locked_until: dict[tuple[str, str], float] = {}

    def locked(self, username: str, address: str) -> tuple[ThrottleRule, int] | None:
        """(the rule, seconds left) while the name or the address is locked out."""
        now = self.clock()
        with self.lock:
            for rule, key in self._keys(username, address):
                until = self.locked_until.get(key, 0)
                if until > now:
                    return rule, math.ceil(until - now)
        return None

    def failed(self, username: str, address: str) -> list[tuple[ThrottleRule, str]]:
        """Count a wrong password; the (rule, name or address) newly locked out by it."""
        now = self.clock()
        newly_locked = []
        with self.lock:
            for rule, key in self._keys(username, address):
                recent = self.failures[key]
                recent.append(now)
                while recent and recent[0] < now - rule.window_s:
                    recent.popleft()
                if len(recent) >= rule.failures:
                    self.locked_until[key] = now + rule.lockout_s
                    recent.clear()
                    newly_locked.append((rule, key[1]))
        return newly_locked

    def succeeded(self, username: str) -> None:
        with self.lock:
            self.failures.pop((USER_RULE.what, username), None)

    @staticmethod
    def _keys(username: str, address: str):
        return ((USER_RULE, (USER_RULE.what, username)), (ADDRESS_RULE, (ADDRESS_RULE.what, address)))


def init_security(app: Flask) -> None:
    app.session_interface = SessionCookieOverHttps()
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SUBAN_LOGIN_THROTTLE"] = LoginThrottle()

    @app.after_request
    def security_headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response
