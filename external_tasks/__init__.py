"""External-task workers: the work the engine should not do itself.

Topic modules are listed in the order an appeal meets them; `build_router` combines them.
"""
from external_tasks.runtime import TaskRouter

#: Topic modules in the order an appeal meets them (intake → scope check → routing → deadlines
#: → unit tasks → callback → indicators). Each module exposes its own `router`.
TOPIC_MODULES: tuple[str, ...] = (
    "external_tasks.intake",
    "external_tasks.scope_check",
    "external_tasks.routing",
    "external_tasks.deadlines",
    "external_tasks.assist",
    "external_tasks.overdue",
    "external_tasks.notify",
)


def build_router() -> TaskRouter:
    import importlib

    router = TaskRouter()
    for name in TOPIC_MODULES:
        router.include(importlib.import_module(name).router)
    return router
