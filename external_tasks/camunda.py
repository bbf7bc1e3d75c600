"""The one adapter between our code and the engine's REST API.

We call the engine through `pycamunda` (the user's choice). Where pycamunda 0.6.1 falls short,
this module fills the gap, and only here:

* fetch-and-lock: pycamunda's `add_topic` has no `localVariables`, `processDefinitionKeyIn` or
  `includeExtensionProperties`, and its result type drops `createTime` (needed for pickup
  latency); `FetchAndLock` below adds them and returns our own `LockedTask`;
* timeouts: pycamunda never passes one to `requests`; `EngineClient` uses a session whose
  requests time out unless told otherwise;
* errors: pycamunda raises bare exceptions with the engine's message (an empty one on 401);
  `EngineClient` turns every refusal into an `EngineError` that says what was refused and why;
* typed variables: pycamunda sends variables as the caller typed them; `to_typed`/`from_typed`
  map Python values to the engine's value types and back;
* endpoints pycamunda lacks or models for an older engine are called with `EngineClient.rest`.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import typing

import pycamunda
import pycamunda.base
import pycamunda.externaltask
import requests

if typing.TYPE_CHECKING:
    from admin_data.environment import Settings

DEFAULT_TIMEOUT_S = 30

INT32_MIN, INT32_MAX = -(2 ** 31), 2 ** 31 - 1


class EngineError(Exception):
    """The engine refused a request or could not be reached."""

    def __init__(self, message: str, status: int | None = None, details: typing.Any = None):
        super().__init__(message)
        self.status = status
        self.details = details

    @property
    def unreachable(self) -> bool:
        return self.status is None

    @property
    def code(self) -> int | None:
        """The engine's exception code, when it gave one (Camunda 7.20+: 1 optimistic locking,
        10000 a deadlock the database detected, 0 anything else)."""
        if isinstance(self.details, dict) and isinstance(self.details.get("code"), int):
            return self.details["code"]
        found = re.search(r'"code"\s*:\s*(\d+)', str(self))
        return int(found.group(1)) if found else None


class _TimeoutSession(requests.Session):
    def __init__(self, timeout_s: float):
        super().__init__()
        self.timeout_s = timeout_s

    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", self.timeout_s)
        return super().request(*args, **kwargs)


def _engine_message(response: requests.Response) -> tuple[str, typing.Any]:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500], None
    if isinstance(body, dict):
        return str(body.get("message") or body.get("type") or ""), body.get("details") or body
    return str(body)[:500], body


class EngineClient:
    """Engine REST API access for one user: pycamunda requests plus the gaps named above."""

    @classmethod
    def as_admin(cls, settings: "Settings", **options) -> "EngineClient":
        """The engine as its administrator (deployments, the directory sync, the console)."""
        return cls(settings.engine_rest_url, settings.admin_user, settings.admin_password,
                   **options)

    @classmethod
    def as_worker(cls, settings: "Settings", **options) -> "EngineClient":
        """The engine as the workers' technical account."""
        return cls(settings.engine_rest_url, settings.worker_user, settings.worker_password,
                   **options)

    def __init__(self, rest_url: str, user: str, password: str,
                 timeout_s: float = DEFAULT_TIMEOUT_S, pool_size: int = 16):
        self.rest_url = rest_url.rstrip("/")
        self.user = user
        self.session = _TimeoutSession(timeout_s)
        self.session.auth = (user, password)
        adapter = requests.adapters.HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    # -- pycamunda ----------------------------------------------------------------------------
    def send(self, request: pycamunda.base.CamundaRequest):
        """Send a pycamunda request through our session, translating its failures."""
        request.session = self.session
        request.auth = self.session.auth
        try:
            return request()
        except pycamunda.Unauthorized:
            raise self._unauthorized() from None
        except pycamunda.Forbidden as exc:
            raise EngineError(f"user '{self.user}' is not allowed to do this: {exc}", 403) from None
        except pycamunda.NotFound as exc:
            raise EngineError(f"not found: {exc}", 404) from None
        except pycamunda.BadRequest as exc:
            raise EngineError(f"the engine refused the request: {exc}", 400) from None
        except pycamunda.NoSuccess as exc:
            raise EngineError(f"the engine failed: {str(exc)[:500]}", 500) from None
        except pycamunda.PyCamundaException as exc:
            raise EngineError(f"engine at {self.rest_url} cannot be reached: {exc}") from None

    # -- plain REST for what pycamunda lacks ---------------------------------------------------
    def rest(self, method: str, path: str, *, expect_json: bool = True, **kwargs):
        try:
            response = self.session.request(method, self.rest_url + path, **kwargs)
        except requests.RequestException as exc:
            raise EngineError(f"engine at {self.rest_url} cannot be reached: {exc}") from None
        if response.status_code == 401:
            raise self._unauthorized()
        if not response.ok:
            message, details = _engine_message(response)
            raise EngineError(f"{method} {path} → {response.status_code}: {message}",
                              response.status_code, details)
        if not expect_json:
            return response.content.decode("utf-8", errors="replace")  # the engine sends UTF-8
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def get(self, path: str, **params):
        return self.rest("GET", path, params=params or None)

    def post(self, path: str, body: typing.Any = None):
        return self.rest("POST", path, json=body)

    def _unauthorized(self) -> EngineError:
        return EngineError(
            f"the engine refused the credentials of user '{self.user}' (401 Unauthorized): "
            "check the user name and password (SUBAN_ADMIN_USER / SUBAN_ADMIN_PASSWORD, "
            "SUBAN_WORKER_USER / SUBAN_WORKER_PASSWORD)", 401)


# -- typed variables ---------------------------------------------------------------------------

def format_engine_date(value: dt.datetime) -> str:
    """A time as the engine's REST API takes and gives it: 2026-11-30T08:00:00.000+0800."""
    if value.tzinfo is None:
        value = value.astimezone()
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}" + value.strftime("%z")


def to_typed(value: typing.Any) -> dict:
    """A Python value as the engine's typed value ({"value", "type"[, "valueInfo"]})."""
    if value is None:
        return {"value": None, "type": "Null"}
    if isinstance(value, bool):
        return {"value": value, "type": "Boolean"}
    if isinstance(value, int):
        return {"value": value, "type": "Integer" if INT32_MIN <= value <= INT32_MAX else "Long"}
    if isinstance(value, float):
        return {"value": value, "type": "Double"}
    if isinstance(value, str):
        return {"value": value, "type": "String"}
    if isinstance(value, dt.datetime):
        return {"value": format_engine_date(value), "type": "Date"}
    if isinstance(value, dt.date):
        return {"value": value.isoformat(), "type": "String"}
    if isinstance(value, (dict, list, tuple)):
        return {"value": json.dumps(value, ensure_ascii=False, default=str), "type": "Json"}
    raise TypeError(f"cannot store a {type(value).__name__} as a process variable")


def to_typed_map(variables: typing.Mapping[str, typing.Any] | None) -> dict:
    return {name: to_typed(value) for name, value in (variables or {}).items()}


def parse_engine_date(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


def from_typed(typed: typing.Mapping[str, typing.Any]) -> typing.Any:
    kind = (typed.get("type") or "").lower()
    value = typed.get("value")
    if value is None:
        return None
    if kind == "json":
        return json.loads(value) if isinstance(value, str) else value
    if kind == "date":
        return parse_engine_date(value)
    return value


def from_typed_map(variables: typing.Mapping[str, typing.Mapping] | None) -> dict:
    return {name: from_typed(typed) for name, typed in (variables or {}).items()}


# -- external tasks ----------------------------------------------------------------------------

@dataclasses.dataclass
class LockedTask:
    """An external task this worker holds, with its variables decoded."""
    id: str
    topic: str
    business_key: str | None
    process_instance_id: str
    process_definition_key: str | None
    activity_id: str
    activity_instance_id: str
    retries: int | None
    variables: dict
    create_time: dt.datetime | None
    lock_expiration: dt.datetime | None
    extension_properties: dict

    @classmethod
    def from_json(cls, data: typing.Mapping[str, typing.Any]) -> "LockedTask":
        variables = from_typed_map(data.get("variables"))
        return cls(
            id=data["id"],
            topic=data["topicName"],
            business_key=data.get("businessKey"),
            process_instance_id=data["processInstanceId"],
            process_definition_key=data.get("processDefinitionKey"),
            activity_id=data.get("activityId") or "",
            activity_instance_id=data.get("activityInstanceId") or "",
            retries=data.get("retries"),
            variables=variables,
            create_time=parse_engine_date(data["createTime"]) if data.get("createTime") else None,
            lock_expiration=(parse_engine_date(data["lockExpirationTime"])
                             if data.get("lockExpirationTime") else None),
            extension_properties=data.get("extensionProperties") or {},
        )


class FetchAndLock(pycamunda.externaltask.FetchAndLock):
    """pycamunda's fetch-and-lock with the topic fields it lacks, returning `LockedTask`s."""

    def add_topic(self, name: str, lock_duration: int, variables: typing.Iterable[str] | None = None,
                  deserialize_values: bool = False, *, local_variables: bool = False,
                  process_definition_keys: typing.Iterable[str] | None = None) -> None:
        super().add_topic(name, lock_duration, variables=list(variables) if variables is not None
                          else None, deserialize_values=deserialize_values)
        topic = self.topics[-1]
        topic["localVariables"] = local_variables
        topic["includeExtensionProperties"] = True
        if process_definition_keys:
            topic["processDefinitionKeyIn"] = list(process_definition_keys)

    def __call__(self, *args, **kwargs) -> list[LockedTask]:
        response = pycamunda.base.CamundaRequest.__call__(
            self, pycamunda.base.RequestMethod.POST, *args, **kwargs)
        return [LockedTask.from_json(item) for item in response.json()]


class Complete(pycamunda.externaltask.Complete):
    """pycamunda's complete, with Python values typed for the engine."""

    def set_variables(self, variables: typing.Mapping[str, typing.Any] | None) -> None:
        self.variables = to_typed_map(variables)


class HandleBPMNError(pycamunda.externaltask.HandleBPMNError):
    def set_variables(self, variables: typing.Mapping[str, typing.Any] | None) -> None:
        self.variables = to_typed_map(variables)


__all__ = [
    "Complete", "EngineClient", "EngineError", "FetchAndLock", "HandleBPMNError",
    "LockedTask", "from_typed", "from_typed_map", "parse_engine_date", "to_typed", "to_typed_map",
]
