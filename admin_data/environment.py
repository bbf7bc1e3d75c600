"""The stack's settings, read once from environment variables (what operators set in
/etc/suban/suban.env; the admin data files are the rest of what a county configures).

Every component (engine launcher, deployment, directory sync, workers, web console) takes a
`Settings`, so one set of variables moves the whole stack: the test suite uses this to run its
own stack on other ports and in another data folder.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from admin_data.loader import REPO_ROOT
from admin_data import loader

#: Passwords shipped for the embedded demo. `up` warns while any of them is in use.
DEMO_PASSWORD = "demo"
DEMO_API_TOKEN = "demo-token"


def _int(env: dict, name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"suban: {name}={raw!r} is not a whole number") from None


def _choice(env: dict, name: str, choices: tuple[str, ...]) -> str:
    """One of `choices`; the first is the default."""
    raw = env.get(name) or choices[0]
    if raw not in choices:
        raise SystemExit(f"suban: {name}={raw!r} is not one of {', '.join(choices)}")
    return raw


#: SUBAN_PROFILE: `demo` runs with the shipped passwords (and warns), `production` refuses them.
PROFILES = ("demo", "production")
#: SUBAN_ENGINE: the process engine `deploy/engine` is built on (Operaton: the maintained fork).
ENGINES = ("camunda", "operaton")


@dataclasses.dataclass(frozen=True)
class Settings:
    data_dir: Path
    models_dir: Path
    config_dir: Path
    engine_port: int
    console_port: int
    admin_user: str
    admin_password: str
    worker_user: str
    worker_password: str
    demo_password: str
    api_token: str
    db_url: str | None
    db_user: str | None
    db_password: str | None
    worker_max_tasks: int
    worker_concurrency: int
    worker_lock_ms: int
    worker_long_poll_ms: int
    worker_retries: int
    worker_backoff_ms: int
    worker_backoff_max_ms: int
    profile: str
    engine: str
    #: Reverse proxies in front of the console (nginx: 1) whose X-Forwarded-For/-Proto count.
    trusted_proxies: int = 0

    @classmethod
    def from_env(cls, env: dict | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("SUBAN_DATA_DIR") or REPO_ROOT / "data").resolve()
        return cls(
            data_dir=data_dir,
            models_dir=Path(env.get("SUBAN_MODELS_DIR") or REPO_ROOT).resolve(),
            config_dir=loader.config_dir(env),
            engine_port=_int(env, "SUBAN_ENGINE_PORT", 8080),
            console_port=_int(env, "SUBAN_CONSOLE_PORT", 8090),
            admin_user=env.get("SUBAN_ADMIN_USER") or "admin",
            admin_password=env.get("SUBAN_ADMIN_PASSWORD") or DEMO_PASSWORD,
            worker_user=env.get("SUBAN_WORKER_USER") or "subanworker",
            worker_password=env.get("SUBAN_WORKER_PASSWORD") or DEMO_PASSWORD,
            demo_password=env.get("SUBAN_DEMO_PASSWORD") or DEMO_PASSWORD,
            api_token=env.get("SUBAN_API_TOKEN") or DEMO_API_TOKEN,
            db_url=env.get("SUBAN_DB_URL") or None,
            db_user=env.get("SUBAN_DB_USER") or None,
            db_password=env.get("SUBAN_DB_PASSWORD") or None,
            worker_max_tasks=_int(env, "SUBAN_WORKER_MAX_TASKS", 100),
            worker_concurrency=_int(env, "SUBAN_WORKER_CONCURRENCY", 8),
            worker_lock_ms=_int(env, "SUBAN_WORKER_LOCK_MS", 60_000),
            worker_long_poll_ms=_int(env, "SUBAN_WORKER_LONG_POLL_MS", 10_000),
            worker_retries=_int(env, "SUBAN_WORKER_RETRIES", 3),
            worker_backoff_ms=_int(env, "SUBAN_WORKER_BACKOFF_MS", 1_000),
            worker_backoff_max_ms=_int(env, "SUBAN_WORKER_BACKOFF_MAX_MS", 300_000),
            profile=_choice(env, "SUBAN_PROFILE", PROFILES),
            engine=_choice(env, "SUBAN_ENGINE", ENGINES),
            trusted_proxies=_int(env, "SUBAN_TRUSTED_PROXIES", 0),
        )

    @property
    def engine_base_url(self) -> str:
        return f"http://127.0.0.1:{self.engine_port}"

    @property
    def engine_rest_url(self) -> str:
        return f"{self.engine_base_url}/engine-rest"

    @property
    def webapps_url(self) -> str:
        """Tasklist, Cockpit and Admin: Operaton serves them under its own name."""
        return f"{self.engine_base_url}/{self.engine}/app"

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.console_port}"

    @property
    def run_dir(self) -> Path:
        return self.data_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    def to_env(self) -> dict[str, str]:
        """These settings as the variables `from_env` reads (and the engine's application.yaml)."""
        return {f"SUBAN_{field.name.upper()}": str(value)
                for field in dataclasses.fields(self)
                if (value := getattr(self, field.name)) is not None}
