"""A worker process for the SIGTERM test: its handler marks that it started (the file named by
SLOW_WORKER_STARTED), takes 2 s, then completes."""
import os
import time
from pathlib import Path

from admin_data.environment import Settings
from external_tasks.camunda import EngineClient
from external_tasks.runtime import TaskRouter, Worker, WorkerOptions, configure_logging

router = TaskRouter()


@router.task("test-echo")
def slow_echo(title: str):
    Path(os.environ["SLOW_WORKER_STARTED"]).touch()
    time.sleep(2)
    return {"echoed": title}


if __name__ == "__main__":
    configure_logging()
    settings = Settings.from_env()
    client = EngineClient(settings.engine_rest_url, settings.worker_user, settings.worker_password)
    Worker(client, router, WorkerOptions(long_poll_ms=1_000, concurrency=1)).run()
