"""Worker runtime: topic handlers as plain functions, run against the engine's external tasks.

    router = TaskRouter()

    @router.task("check-scope")
    def check_scope(content, title=None, kind=None):
        ...
        return {"scopeFlag": flag}

A handler's parameters name the process variables it reads (only those are fetched); a parameter
annotated `LockedTask` receives the task itself, one annotated `EngineClient` the worker's engine
client (e.g. to evaluate a DMN decision). Its returned dict holds the variables it sets.
Raising `BpmnError` is a business outcome the model catches; any other exception is a fault:
the task is failed with a retry count and an exponential backoff, and the last failure leaves an
incident that Cockpit shows. Faults no retry can mend become an incident at once: `IncidentError`,
any `AdminDataError` (a bad admin file, a year without holiday data: the admin fixes it, then
retries the incident in Cockpit) and the types a topic names in `incident_on`. The engine may
deliver a task twice: handlers must be idempotent.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import inspect
import json
import logging
import os
import signal
import socket
import threading
import time
import traceback
import typing

from admin_data.loader import AdminDataError
from external_tasks.camunda import (Complete, EngineClient, EngineError, FetchAndLock,
                                    HandleBPMNError, LockedTask)

import pycamunda.externaltask

log = logging.getLogger("suban.worker")


class BpmnError(Exception):
    """A business outcome: the model's error boundary event with this code takes over."""

    def __init__(self, code: str, message: str = "", variables: dict | None = None):
        super().__init__(message or code)
        self.code = code
        self.message = message
        self.variables = variables or {}


class IncidentError(Exception):
    """A fault no retry can mend (e.g. missing admin data): becomes an incident at once.

    The message tells the operator what to fix; after fixing it, retry the incident in Cockpit.
    """


#: How the engine words an optimistic-locking failure (its REST error names the type in
#: `details`; the message alone carries only the code), and ENGINE-03077, which a completion
#: meets while a concurrent branch is being ended: a moment later the same completion succeeds.
CONFLICT_SIGNS = ("OptimisticLocking", "ENGINE-03005", "ENGINE-03077")
#: The engine's exception codes of a transaction that lost a race and was rolled back:
#: optimistic locking, and a deadlock the database broke (H2 under load; the REST answer then
#: says only "an exception occurred in the persistence layer").
CONFLICT_CODES = (1, 10000)
#: Waits before completing a task again after a conflict, before it is handed back.
CONFLICT_RETRY_DELAYS_S = (0.05, 0.1, 0.2, 0.4)


def is_conflict(error: EngineError) -> bool:
    """Another transaction changed the same data first: redo the task, it costs no retry."""
    return error.code in CONFLICT_CODES or any(
        sign in str(error) or sign in str(error.details) for sign in CONFLICT_SIGNS)


T = typing.TypeVar("T")


def retry_on_conflict(call: typing.Callable[[], T], attempts: int = 5,
                      pause_s: float = 0.2) -> T:
    """`call()`, made again (after a growing pause) while it meets a concurrent change of the
    same appeal, e.g. a timer firing as a form is submitted; other errors, and the last
    conflict, go to the caller."""
    for attempt in range(1, attempts):
        try:
            return call()
        except EngineError as error:
            if not is_conflict(error):
                raise
        time.sleep(pause_s * attempt)
    return call()


@dataclasses.dataclass(frozen=True)
class Handler:
    topic: str
    function: typing.Callable[..., dict | None]
    variables: tuple[str, ...] | None  # the variables to fetch; None: all of them
    takes_all: bool                    # a **kwargs handler gets every fetched variable
    required: frozenset[str]
    task_parameter: str | None
    client_parameter: str | None
    lock_ms: int | None
    retries: int | None
    incident_on: tuple[type[Exception], ...] = ()

    def no_retry_mends(self, fault: Exception) -> bool:
        """Whether `fault` becomes an incident at once instead of going through the retries."""
        return isinstance(fault, (IncidentError, AdminDataError, *self.incident_on))

    def call(self, task: LockedTask, client: EngineClient) -> dict:
        missing = sorted(name for name in self.required if name not in task.variables)
        if missing:
            raise KeyError(f"process variable(s) {', '.join(missing)} missing for topic "
                           f"'{self.topic}' ({self.function.__module__}.{self.function.__name__})")
        if self.takes_all:
            kwargs = dict(task.variables)
        else:
            kwargs = {name: task.variables[name] for name in self.variables if name in task.variables}
        if self.task_parameter:
            kwargs[self.task_parameter] = task
        if self.client_parameter:
            kwargs[self.client_parameter] = client
        result = self.function(**kwargs)
        if result is None:
            return {}
        if not isinstance(result, dict):
            raise TypeError(f"handler for '{self.topic}' returned {type(result).__name__}, "
                            "expected a dict of variables")
        return result


class TaskRouter:
    """Collects topic handlers; routers of several modules combine with `include`."""

    def __init__(self):
        self.handlers: dict[str, Handler] = {}

    def task(self, topic: str, *, lock_ms: int | None = None, retries: int | None = None,
             variables: typing.Iterable[str] | None = None,
             incident_on: tuple[type[Exception], ...] = ()):
        """Register `function` on `topic`. `variables` names what a **kwargs handler is given:
        fetching every variable of an appeal on each task costs the engine dearly. Faults of the
        `incident_on` types become an incident at once, as admin data errors do."""
        def register(function):
            handler = _handler_for(topic, function, lock_ms, retries, variables)
            self._add(dataclasses.replace(handler, incident_on=tuple(incident_on)))
            return function
        return register

    def include(self, other: "TaskRouter") -> None:
        for handler in other.handlers.values():
            self._add(handler)

    def _add(self, handler: Handler) -> None:
        if handler.topic in self.handlers:
            raise ValueError(f"topic '{handler.topic}' has two handlers")
        self.handlers[handler.topic] = handler


def _handler_for(topic, function, lock_ms, retries, extra_variables) -> Handler:
    names, required, takes_all = [], set(), False
    task_parameter = client_parameter = None
    hints = typing.get_type_hints(function)
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind is parameter.VAR_KEYWORD:
            takes_all = True
        elif hints.get(parameter.name) is LockedTask:
            task_parameter = parameter.name
        elif hints.get(parameter.name) is EngineClient:
            client_parameter = parameter.name
        elif parameter.kind in (parameter.VAR_POSITIONAL, parameter.POSITIONAL_ONLY):
            raise TypeError(f"{function.__name__}: handler parameters must be named variables")
        else:
            names.append(parameter.name)
            if parameter.default is parameter.empty:
                required.add(parameter.name)
    if takes_all:
        fetched = None if extra_variables is None else tuple(dict.fromkeys(
            [*names, *extra_variables]))
    else:
        fetched = tuple(names)
    return Handler(topic, function, fetched, takes_all, frozenset(required),
                   task_parameter, client_parameter, lock_ms, retries)


@dataclasses.dataclass(frozen=True)
class WorkerOptions:
    #: Tasks the worker holds at most, running and queued: what one fetch may lock.
    max_tasks: int = 100
    #: Handler threads: they mostly wait on the engine or a gateway, so 8 cost little.
    concurrency: int = 8
    lock_ms: int = 60_000
    long_poll_ms: int = 10_000
    #: After a fetch that found fewer tasks than it asked for, the next one starts no sooner
    #: than this after it, so that tasks arriving one by one under load are locked a few at a
    #: time (each fetch costs the engine CPU: bench/appeal_intake.py). A long poll that waited
    #: that long for its task is not followed by a wait: the worker was idle, not busy.
    gather_ms: int = 30
    retries: int = 3
    backoff_ms: int = 1_000
    backoff_max_ms: int = 300_000
    process_definition_keys: tuple[str, ...] = ()
    worker_id: str = dataclasses.field(
        default_factory=lambda: f"suban-{socket.gethostname()}-{os.getpid()}")


def retry_backoff_ms(attempt: int, options: WorkerOptions) -> int:
    """Wait before attempt `attempt + 1`: backoff, doubling per attempt, capped."""
    return min(options.backoff_ms * 2 ** max(attempt - 1, 0), options.backoff_max_ms)


@dataclasses.dataclass
class HeldTask:
    """A task this worker has locked: queued for a handler slot, or running in one."""
    task: LockedTask
    lock_expiry: float  # time.monotonic() at which the engine's lock runs out
    started: float | None = None  # time.monotonic() at which its handler started; None: queued


#: Weight of the latest task in the running average of how long a task holds a handler slot.
TASK_TIME_WEIGHT = 0.2


class Worker:
    """Fetches and locks the router's topics in batches into a local queue, runs their handlers
    concurrently, reports outcomes."""

    def __init__(self, client: EngineClient, router: TaskRouter, options: WorkerOptions):
        self.client = client
        self.router = router
        self.options = options
        self._stopping = threading.Event()
        self._held: dict[str, HeldTask] = {}
        self._held_lock = threading.Lock()
        self._room = threading.Condition(self._held_lock)  # notified as held tasks leave
        self._task_seconds: float | None = None  # running average of a task's time in a slot
        self._closed = threading.Event()
        # A long poll holds the request open on the engine: the HTTP timeout must outlast it.
        client.session.timeout_s = max(client.session.timeout_s, options.long_poll_ms / 1000 + 10)
        self._pool = concurrent.futures.ThreadPoolExecutor(options.concurrency,
                                                           thread_name_prefix="suban-task")

    # -- lifecycle -----------------------------------------------------------------------------
    def run(self) -> None:
        """Work until `stop()` (or SIGTERM/SIGINT when run in the main thread)."""
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: self.stop())
        keeper = threading.Thread(target=self._keep_locks, name="suban-lock-keeper", daemon=True)
        keeper.start()
        log.info("worker started", extra={"worker_id": self.options.worker_id,
                                          "topics": sorted(self.router.handlers)})
        failures, next_fetch = 0, 0.0
        try:
            while not self._stopping.is_set():
                self._stopping.wait(max(0.0, next_fetch - time.monotonic()))
                wanted = self._await_room()
                if not wanted:
                    continue
                fetch_started = time.monotonic()  # the engine's locks run from about here
                try:
                    tasks = self._fetch(wanted)
                    failures = 0
                    if len(tasks) < wanted:
                        next_fetch = fetch_started + self.options.gather_ms / 1000
                except EngineError as exc:
                    if is_conflict(exc):
                        # A fetch that read an appeal's executions while a branch of it ended
                        # (ENGINE-03077): nothing is wrong, fetch again at once.
                        log.info("fetch met a concurrent change, fetching again: %s", exc)
                        continue
                    failures += 1
                    wait = retry_backoff_ms(failures, self.options) / 1000
                    log.warning("fetch failed, retrying in %.1fs: %s", wait, exc)
                    self._stopping.wait(wait)
                    continue
                for task in tasks:
                    if self._stopping.is_set():
                        self._unlock(task, "unlocked on shutdown")
                    else:
                        self._hold(task, fetch_started)
                        self._pool.submit(self._execute, task)
        finally:
            self._shutdown()

    def stop(self) -> None:
        self._stopping.set()

    def _shutdown(self) -> None:
        """Hand queued tasks back at once, let running handlers finish within their lock, unlock
        whatever is still held."""
        for task in self._claim(lambda held: held.started is None):
            self._unlock(task, "unlocked on shutdown, never started")
        self._pool.shutdown(wait=True, cancel_futures=True)
        for task in self._claim(lambda held: True):
            self._unlock(task, "unlocked on shutdown")
        self._closed.set()
        log.info("worker stopped", extra={"worker_id": self.options.worker_id})

    # -- the local queue -----------------------------------------------------------------------
    def _capacity(self) -> int:
        """How many tasks to hold: `max_tasks`, fewer when the handler slots could not start
        them all within half the lock (the other half is the margin to report the outcome or
        extend the lock), but never fewer than fill the slots. A task's time is the running
        average, or the time the oldest running handler has taken so far if that is longer."""
        now = time.monotonic()
        task_seconds = max([self._task_seconds or 0.0, *(
            now - held.started for held in self._held.values() if held.started is not None)])
        if not task_seconds:
            return self.options.max_tasks
        half_lock_s = min((self._lock_ms(topic) for topic in self.router.handlers),
                          default=self.options.lock_ms) / 2000
        within_lock = self.options.concurrency * int(half_lock_s / task_seconds)
        return min(self.options.max_tasks, max(self.options.concurrency, within_lock))

    def _await_room(self) -> int:
        """How many tasks to fetch now: nothing while a fetched task still waits in the queue or
        every handler slot is busy; then as many as the capacity leaves. An idle or lightly
        loaded worker so fetches (and long-polls) again at once, with no wait added to a task's
        way through the process; a busy one fetches only as a slot frees and finds the tasks that
        came meanwhile together, as the official Java client does by running its batch first."""
        with self._room:
            def room() -> int:
                running = sum(held.started is not None for held in self._held.values())
                if len(self._held) > running or running >= self.options.concurrency:
                    return 0
                return max(0, self._capacity() - len(self._held))
            self._room.wait_for(room, timeout=0.5)
            return room()

    def _hold(self, task: LockedTask, locked_at: float) -> None:
        with self._held_lock:
            self._held[task.id] = HeldTask(task, locked_at + self._lock_ms(task.topic) / 1000)

    def _start(self, task: LockedTask) -> bool:
        """Mark `task` running; False when it was handed back while it waited in the queue."""
        with self._room:
            held = self._held.get(task.id)
            if held is not None:
                held.started = time.monotonic()
                self._room.notify()  # the queue may be empty now: time to fetch
            return held is not None

    def _drop(self, task: LockedTask, slot_seconds: float) -> None:
        with self._room:
            self._held.pop(task.id, None)
            self._task_seconds = slot_seconds if self._task_seconds is None else (
                (1 - TASK_TIME_WEIGHT) * self._task_seconds + TASK_TIME_WEIGHT * slot_seconds)
            self._room.notify()

    def _claim(self, which: typing.Callable[[HeldTask], bool]) -> list[LockedTask]:
        """Take the held tasks `which` selects out of the queue, so that no handler starts them."""
        with self._room:
            claimed = [held.task for held in self._held.values() if which(held)]
            for task in claimed:
                del self._held[task.id]
            self._room.notify()
        return claimed

    # -- engine calls --------------------------------------------------------------------------
    def _fetch(self, max_tasks: int) -> list[LockedTask]:
        if not self.router.handlers:
            self._stopping.wait(self.options.long_poll_ms / 1000)
            return []
        request = FetchAndLock(self.client.rest_url, worker_id=self.options.worker_id,
                               max_tasks=max_tasks, async_response_timeout=self.options.long_poll_ms)
        for handler in self.router.handlers.values():
            request.add_topic(handler.topic, handler.lock_ms or self.options.lock_ms,
                              variables=handler.variables,
                              process_definition_keys=self.options.process_definition_keys)
        return self.client.send(request)

    def _lock_ms(self, topic: str) -> int:
        handler = self.router.handlers.get(topic)
        return (handler.lock_ms if handler and handler.lock_ms else self.options.lock_ms)

    def _keep_locks(self) -> None:
        """At half time of a lock, extend it for a running handler (a busy engine may answer
        late), and hand a task still waiting in the queue back to the engine: the handlers are
        slower than the queue was sized for, and another worker may be free."""
        while not self._closed.wait(0.25):
            now = time.monotonic()

            def half_gone(held: HeldTask) -> bool:
                return held.lock_expiry - now < self._lock_ms(held.task.topic) / 2000
            for task in self._claim(lambda held: half_gone(held) and held.started is None):
                self._unlock(task, "handed back: its lock ran short while it waited in the queue")
            with self._held_lock:
                due = [held.task for held in self._held.values() if half_gone(held)]
            for task in due:
                self._extend_lock(task)

    def _extend_lock(self, task: LockedTask) -> None:
        lock_ms = self._lock_ms(task.topic)
        requested = time.monotonic()
        try:
            self.client.send(pycamunda.externaltask.ExtendLock(
                self.client.rest_url, id_=task.id, new_duration=lock_ms,
                worker_id=self.options.worker_id))
        except EngineError as exc:
            _task_log(task).warning("lock extension failed: %s", exc)
            return
        with self._held_lock:
            if task.id in self._held:
                self._held[task.id].lock_expiry = requested + lock_ms / 1000
        _task_log(task).info("lock extended by %d ms", lock_ms)

    def _unlock(self, task: LockedTask, reason: str) -> None:
        try:
            self.client.send(pycamunda.externaltask.Unlock(self.client.rest_url, id_=task.id))
            _task_log(task).info(reason)
        except EngineError as exc:
            _task_log(task).warning("unlock failed, the lock will expire: %s", exc)

    # -- one task ------------------------------------------------------------------------------
    def _execute(self, task: LockedTask) -> None:
        if not self._start(task):
            return
        logger = _task_log(task)
        handler = self.router.handlers[task.topic]
        started = time.monotonic()
        try:
            try:
                variables = handler.call(task, self.client)
            except BpmnError as error:
                request = HandleBPMNError(self.client.rest_url, id_=task.id,
                                          worker_id=self.options.worker_id,
                                          error_code=error.code, error_message=error.message)
                request.set_variables(error.variables)
                self.client.send(request)
                logger.info("business error %s raised: %s", error.code, error.message)
            except Exception as fault:  # noqa: BLE001 - every fault becomes a retry or an incident
                self._fail(task, handler, fault)
            else:
                self._complete(task, variables)
                logger.info("completed in %.0f ms", (time.monotonic() - started) * 1000)
        except EngineError as exc:
            # The task stays locked until its lock expires; the engine then hands it out again.
            logger.error("could not report the outcome to the engine: %s", exc)
        finally:
            self._drop(task, time.monotonic() - started)

    def _complete(self, task: LockedTask, variables: dict) -> None:
        request = Complete(self.client.rest_url, id_=task.id, worker_id=self.options.worker_id)
        request.set_variables(variables)
        for delay_s in (*CONFLICT_RETRY_DELAYS_S, None):
            try:
                self.client.send(request)
                return
            except EngineError as error:
                if not is_conflict(error):
                    raise
                conflict = error
            if delay_s is not None:
                # The task is still ours and the other transaction has committed by now: the
                # same completion goes through a moment later. Handing the task back instead
                # would leave it until the engine's next long poll answers (seconds).
                time.sleep(delay_s)
        # Conflicting still: hand the task back with its retries untouched, to run on fresh data.
        self.client.send(pycamunda.externaltask.HandleFailure(
            self.client.rest_url, id_=task.id, worker_id=self.options.worker_id,
            error_message="conflict with a concurrent change, running again",
            error_details=str(conflict), retries=task.retries if task.retries is not None
            else self._allowed_retries(self.router.handlers[task.topic]), retry_timeout=100))
        _task_log(task).info("conflict with a concurrent change: task handed back to rerun")

    def _allowed_retries(self, handler: Handler) -> int:
        return handler.retries if handler.retries is not None else self.options.retries

    def _fail(self, task: LockedTask, handler: Handler, fault: Exception) -> None:
        allowed = self._allowed_retries(handler)
        remaining = max((task.retries if task.retries is not None else allowed) - 1, 0)
        if handler.no_retry_mends(fault):
            remaining = 0
        attempt = allowed - remaining
        backoff = retry_backoff_ms(attempt, self.options)
        prefix = ("管理数据有误, 请管理员修正后在 Cockpit 重试此事件: " if isinstance(fault, AdminDataError)
                  else f"{type(fault).__name__}: ")
        message = f"{prefix}{fault}"[:600]
        self.client.send(pycamunda.externaltask.HandleFailure(
            self.client.rest_url, id_=task.id, worker_id=self.options.worker_id,
            error_message=message, error_details=traceback.format_exc(),
            retries=remaining, retry_timeout=backoff if remaining else 0))
        if remaining:
            _task_log(task).warning("failed (%s), %d retries left, next in %d ms",
                                    message, remaining, backoff)
        else:
            _task_log(task).error("failed for the last time, incident raised: %s", message)


def _task_log(task: LockedTask) -> logging.LoggerAdapter:
    return logging.LoggerAdapter(log, {"task_id": task.id, "topic": task.topic,
                                       "business_key": task.business_key,
                                       "process_instance_id": task.process_instance_id})


class JsonLogFormatter(logging.Formatter):
    """One JSON object a line, carrying the task fields a LoggerAdapter added."""

    FIELDS = ("task_id", "topic", "business_key", "process_instance_id", "worker_id", "topics")

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"), "level": record.levelname,
                 "logger": record.name, "message": record.getMessage()}
        for field in self.FIELDS:
            if getattr(record, field, None) is not None:
                entry[field] = getattr(record, field)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLogFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
