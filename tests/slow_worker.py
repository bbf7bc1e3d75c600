"""A worker process for the SIGTERM test: its handler takes 2 s, then completes."""
import time

from deploy.settings import Settings
from external_tasks.camunda import EngineClient
from external_tasks.runtime import TaskRouter, Worker, WorkerOptions, configure_logging

router = TaskRouter()


@router.task("test-echo")
def slow_echo(title: str):
    time.sleep(2)
    return {"echoed": title}


if __name__ == "__main__":
    configure_logging()
    settings = Settings.from_env()
    client = EngineClient(settings.engine_rest_url, settings.worker_user, settings.worker_password)
    Worker(client, router, WorkerOptions(long_poll_ms=1_000, concurrency=1)).run()
