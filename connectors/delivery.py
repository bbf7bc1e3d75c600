"""What every channel shares: error kinds, retries with backoff, and JSON over HTTP with a timeout.

Within one delivery attempt a transient failure (connection error, timeout, HTTP 5xx) is retried
with a doubling wait; a refusal (HTTP 4xx, SMTP 5xx) is permanent and not retried. When the
retries are used up, `DeliveryFailed` goes up to the worker runtime, which fails the task (the
engine retries it with backoff and finally raises an incident).
"""
from __future__ import annotations

import logging
import time
import typing
import urllib.parse

import requests

from connectors.config import DeliveryPolicy

log = logging.getLogger("suban.connectors")


class DeliveryError(Exception):
    """A message could not be delivered."""


class TransientError(DeliveryError):
    """One call failed in a way a later call may mend (network, timeout, server error)."""


class DeliveryRejected(DeliveryError):
    """The other side refused the message; sending it again will not help (fix data or config)."""


class DeliveryFailed(DeliveryError):
    """Every attempt of one delivery failed transiently; a later delivery may succeed."""


class DeliveryInProgress(TransientError):
    """Another worker is sending the same message right now."""


#: HTTP statuses that mean "try again later" although they are 4xx.
RETRYABLE_4XX = frozenset({408, 425, 429})


def with_retries(send: typing.Callable[[], str], policy: DeliveryPolicy, what: str,
                 sleep: typing.Callable[[float], None] = time.sleep) -> str:
    """Call `send` until it succeeds, retrying `TransientError`s with backoff."""
    for attempt in range(1, policy.attempts + 1):
        try:
            return send()
        except TransientError as exc:
            if attempt == policy.attempts:
                raise DeliveryFailed(f"{what}: all {policy.attempts} attempts failed, "
                                     f"last: {exc}") from exc
            wait = policy.backoff(attempt)
            log.warning("%s: attempt %d of %d failed (%s), retrying in %.2f s",
                        what, attempt, policy.attempts, exc, wait)
            sleep(wait)
    raise AssertionError("unreachable: policy.attempts is at least 1")


def shown_url(url: str) -> str:
    """A URL fit for logs: robot webhook URLs carry their access key in the query."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def post_json(url: str, body: dict, *, headers: dict[str, str],
              timeout_s: float) -> requests.Response:
    """One POST; classifies failures into `TransientError` and `DeliveryRejected`."""
    try:
        response = requests.post(url, json=body, headers=headers, timeout=timeout_s)
    except requests.Timeout:
        raise TransientError(f"{shown_url(url)} did not answer within {timeout_s:g} s") from None
    except requests.ConnectionError as exc:
        raise TransientError(f"{shown_url(url)} cannot be reached: "
                             f"{type(exc).__name__}") from None
    except requests.RequestException as exc:
        raise DeliveryRejected(f"{shown_url(url)}: request not sendable: {exc}") from None
    if response.status_code >= 500 or response.status_code in RETRYABLE_4XX:
        raise TransientError(f"{shown_url(url)} answered {response.status_code}")
    if response.status_code >= 400:
        raise DeliveryRejected(f"{shown_url(url)} refused the message: {response.status_code} "
                               f"{response.text.strip()[:200]}")
    return response
