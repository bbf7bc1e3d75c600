"""External-task workers: the work the engine should not do itself.

Topic modules are listed in the order an appeal meets them; `build_router` combines them.
"""
from external_tasks.runtime import TaskRouter

#: Topic modules in the order an appeal meets them (intake → scope check → routing → deadlines
#: → unit tasks → callback → indicators). Each module exposes its own `router`.
TOPIC_MODULES: tuple[str, ...] = (
    "external_tasks.intake",
    "external_tasks.risk_alert",
    "external_tasks.scope_check",
    "external_tasks.routing",
    "external_tasks.deadlines",
    "external_tasks.opinions",
    "external_tasks.returns",
    "external_tasks.extension_request",
    "external_tasks.deadline_extension",
    "external_tasks.overdue",
    "external_tasks.supervision",
    "external_tasks.merge",  # 并案: the main appeal's outcome to the appeals merged into it
    "external_tasks.notify",
    "external_tasks.daily_run",  # when the daily processes below do today's work
    "external_tasks.duty_digest",  # daily, after the duty slot: not one appeal's step
    "external_tasks.calendar_check",  # daily: is next year's working-day calendar entered?
    "external_tasks.knowledge_expiry",  # daily: knowledge entries nearing their valid-until
    "external_tasks.suggester_retrain",  # nightly: is the desk's category model due again?
)


def build_router() -> TaskRouter:
    import importlib

    router = TaskRouter()
    for name in TOPIC_MODULES:
        router.include(importlib.import_module(name).router)
    return router
