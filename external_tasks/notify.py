"""Topic `send-notification`: send a message template to the caller or to units.

The BPMN service task names the template and the audience as input parameters:

    <camunda:inputParameter name="template">unit_dispatched</camunda:inputParameter>
    <camunda:inputParameter name="audience">lead_unit</camunda:inputParameter>

audience: caller (SMS to callerPhone) · lead_unit (variable leadUnit) · co_units (list variable
coUnits) · hotline (the hotline centre) · unit:<id> (that unit). The templates are rendered from
all the appeal's variables; each message carries the idempotency key
`<process instance>:<activity instance>:<template>:<channel>:<recipient>`, so a task delivered
twice sends nothing twice. Sets `lastNotification`, a summary without personal data.
"""
from __future__ import annotations

import threading

from admin_data.directory import DIRECTORY
from admin_data.notifications import FIELDS, NOTIFICATIONS
from connectors import DeliveryRejected, Notifier, TemplateError, summary
from external_tasks.camunda import LockedTask
from external_tasks.runtime import TaskRouter

router = TaskRouter()

#: A message no retry can send: a template the appeal's variables cannot fill, or one the
#: gateway refuses for good.
UNDELIVERABLE = (TemplateError, DeliveryRejected)

HOTLINE_UNIT = "hotline"
AUDIENCES = ("caller", "lead_unit", "co_units", "hotline", "unit:<id>")


class _NotifierHolder:
    """The worker's notifier, made again when the admin files it reads were saved (an admin fixes
    a template, then retries the incident); one given to `use_notifier` stays."""

    def __init__(self):
        self.lock = threading.Lock()
        self.notifier: Notifier | None = None
        self.made_from: tuple | None = None
        self.pinned = False

    def get(self) -> Notifier:
        with self.lock:
            if self.pinned:
                return self.notifier
            # The admin data cache hands out the same objects while the files are unchanged.
            files = (NOTIFICATIONS.current(), DIRECTORY.current())
            if self.notifier is None or any(now is not before for now, before
                                            in zip(files, self.made_from)):
                self.notifier, self.made_from = Notifier.from_env(), files
            return self.notifier

    def set(self, notifier: Notifier | None) -> None:
        with self.lock:
            self.notifier, self.pinned, self.made_from = notifier, notifier is not None, None


_holder = _NotifierHolder()


def use_notifier(notifier: Notifier | None) -> None:
    """Make the worker send through `notifier` (tests, embedding). None: forget it, so the next
    task loads notifications.yaml and the environment afresh."""
    _holder.set(notifier)


def current_notifier() -> Notifier:
    return _holder.get()


class AudienceError(ValueError):
    """The audience input parameter, or the variable it refers to, is not usable."""


def recipient_units(audience: str, variables: dict) -> list[str]:
    """The unit ids a unit audience means; raises AudienceError naming the bad variable."""
    if audience == "hotline":
        return [HOTLINE_UNIT]
    if audience.startswith("unit:") and audience[5:]:
        return [audience[5:]]
    if audience == "lead_unit":
        lead = variables.get("leadUnit")
        if not isinstance(lead, str) or not lead:
            raise AudienceError(f"audience lead_unit: 流程变量 leadUnit 缺失或不是单位 id: {lead!r}")
        return [lead]
    if audience == "co_units":
        co_units = variables.get("coUnits")
        if co_units is None:
            return []  # an appeal without co-units may not set the variable at all
        if not isinstance(co_units, list) or not all(isinstance(unit, str) for unit in co_units):
            raise AudienceError(f"audience co_units: 流程变量 coUnits 应为单位 id 的列表，"
                             f"实际为 {co_units!r}")
        return co_units
    raise AudienceError(f"输入参数 audience 的值 {audience!r} 无效，应为 {' / '.join(AUDIENCES)}")


#: What templates and recipients can read: the placeholders' sources and the caller's contact.
NOTIFICATION_VARIABLES = sorted({field.source for field in FIELDS.values()}
                                | {"confidential", "callerName", "callerPhone", "leadUnit",
                                   "coUnits"})


# A bad model or a refusal: retrying cannot mend it. Fix the cause, then retry the incident in
# Cockpit; what went out already is not sent again.
@router.task("send-notification", variables=NOTIFICATION_VARIABLES,
             incident_on=(*UNDELIVERABLE, AudienceError))
def send_notification(task: LockedTask, template: str, audience: str, **variables):
    scope = f"{task.process_instance_id}:{task.activity_instance_id}"
    notifier = current_notifier()
    if audience == "caller":
        deliveries = notifier.notify_caller(template, variables, scope=scope)
    else:
        deliveries = notifier.notify_units(template, recipient_units(audience, variables),
                                           variables, scope=scope)
    return {"lastNotification": summary(template, deliveries)}
