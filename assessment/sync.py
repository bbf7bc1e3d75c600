"""Sync the engine's history into the analytical store, incrementally and resumably.

Two passes per run, each reading pages by keyset — (time, instance id), oldest first — never by
offset, so an appeal that closes or starts while a sync reads can shift no other out of a page:

1. closed appeals: root `hotline_appeal` instances finished at or after the watermark minus
   the overlap window (`OVERLAP`). Each page is read in full (the family of processes with the
   same business key, their variables and the unit tasks), turned into rows, and written
   together with the new watermark (the page's last end time) in one transaction. A run stopped
   anywhere leaves the store at the end of its last committed page; the next run starts there.
   Rows are upserted by appeal number, so reading an appeal twice changes nothing.
2. open appeals: every unfinished root, by start time, is read afresh and upserted (their
   numbers move until they close; pass 1 then writes their final row).

Why the overlap window makes the closed pass miss nothing: the engine stamps a process's end
time inside the transaction that ends it, and other readers see it only once that commits. So an
appeal may become visible after a later-ending one was read and the watermark moved past it.
Its end time E is then earlier than the watermark W by less than the time its transaction took
to commit (plus the clock difference between engine nodes of a cluster); the next run reads
from W − OVERLAP, which holds E as long as that is under OVERLAP. Until then it was open in the
store (pass 2 saw it unfinished), never absent; and `suban assessment verify` checks the store
against a full re-read.

An appeal deleted in Cockpit (state EXTERNALLY/INTERNALLY_TERMINATED) is removed from the store.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import typing
from pathlib import Path

from assessment import store
from admin_data.workdays import SHANGHAI
from external_tasks import appeal
from external_tasks.appeal import APPEAL_PROCESS, CONSULTATION_PROCESS, SUPERVISION_PROCESS, UNIT_PROCESS
from external_tasks.camunda import EngineClient, format_engine_date, parse_engine_date

#: Unit tasks whose end times say when the unit acted, by deadline: sign-for, first feedback,
#: reply. The first sign-for and feedback count; the last reply (a reply sent back by the
#: centre's review is answered again).
STEP_TASKS = {"sign_for": ("Task_SignForAppeal", "first"),
              "feedback": ("Task_HandleAppeal", "first"),
              "completion": ("Task_ReplyAppeal", "last")}
STEP_VARIABLES = {"sign_for": "signFor", "feedback": "feedback", "completion": "completion"}

#: The process variables a row is made of (all of the appeal's family of processes): the
#: caller's phone only to be hashed for the repeat analysis.
READ_VARIABLES = appeal.names(appeal.FACTS, appeal.UNITS, appeal.DEADLINES, appeal.OVERDUE_FLAGS,
                              appeal.HANDLING, appeal.CONSULTATION, appeal.OUTCOME, ("callerPhone",))

WATERMARK = store.WATERMARK
#: How far before the watermark each closed pass starts again: longer than any engine
#: transaction that ends an appeal takes to commit, plus the clock skew between engine nodes.
OVERLAP = dt.timedelta(minutes=15)
LAST_SYNC = "last_sync_at"  # when the last sync finished: the "as of" of every report
TERMINATED = ("EXTERNALLY_TERMINATED", "INTERNALLY_TERMINATED")


@dataclasses.dataclass
class Run:
    """One process instance of the appeal's family (unit handling, supervision, consultation)."""
    instance: dict
    variables: dict
    tasks: dict[str, list[dict]]  # task definition key → its history entries, oldest first


@dataclasses.dataclass
class AppealHistory:
    root: dict
    variables: dict
    runs: dict[str, list[Run]]  # process key → its instances, oldest first

    def runs_of(self, key: str) -> list[Run]:
        return self.runs.get(key, [])


@dataclasses.dataclass
class SyncReport:
    closed: int = 0
    open: int = 0
    removed: int = 0
    pages: int = 0
    watermark: str | None = None


class HistoryReader:
    """Reads whole appeals from the engine's history REST API, a page of appeals at a time."""

    def __init__(self, engine: EngineClient, page_size: int = 100):
        self.engine = engine
        self.page_size = page_size

    def closed_roots(self, since: dt.datetime | None) -> typing.Iterator[list[dict]]:
        """Pages of the roots finished at or after `since` (all when None), by end time."""
        query = {"processDefinitionKey": APPEAL_PROCESS, "finished": True}
        return self._keyset_pages(query, "endTime", "finishedAfter", since)

    def open_roots(self) -> typing.Iterator[list[dict]]:
        """Pages of the unfinished roots, by start time (which never changes)."""
        query = {"processDefinitionKey": APPEAL_PROCESS, "unfinished": True}
        return self._keyset_pages(query, "startTime", "startedAfter", None)

    def started_roots(self, since: dt.datetime) -> typing.Iterator[list[dict]]:
        """Pages of every root started at or after `since`, finished or not, by start time."""
        query = {"processDefinitionKey": APPEAL_PROCESS}
        return self._keyset_pages(query, "startTime", "startedAfter", since)

    def _keyset_pages(self, query: dict, time_field: str, after_parameter: str,
                      since: dt.datetime | None) -> typing.Iterator[list[dict]]:
        """Pages ordered by (time, id): each asks for the instances at or after the last time
        read ("…After" is inclusive in the engine) and drops the ones of that very time already
        read, so neither an instance that drops out of the query (it closed) nor one that
        enters it shifts the rest. Ids are only compared for equality: no collation matters."""
        query = query | {"sorting": [{"sortBy": time_field, "sortOrder": "asc"},
                                     {"sortBy": "instanceId", "sortOrder": "asc"}]}
        cursor, read_at_cursor = since, set()
        while True:
            asked = query | ({after_parameter: format_engine_date(cursor)} if cursor else {})
            found = self.engine.post(f"/history/process-instance?firstResult=0&maxResults="
                                     f"{self.page_size + len(read_at_cursor)}", asked)
            page = [instance for instance in found if instance["id"] not in read_at_cursor]
            page = page[:self.page_size]
            if not page:
                return
            yield page
            last = _time(page[-1][time_field])
            if last != cursor:
                cursor, read_at_cursor = last, set()
            read_at_cursor |= {instance["id"] for instance in page
                               if _time(instance[time_field]) == cursor}

    def appeals(self, roots: list[dict]) -> list[AppealHistory]:
        """The full history of each root that has its appeal number (business key).

        One request each for the family, its variables and its unit tasks: a page of appeals
        bounds their size. (Paging the variable query with firstResult/maxResults made a sync
        of 200 appeals 8 to 60 times slower on the embedded H2 engine.)"""
        roots = [root for root in roots if root.get("businessKey")]
        if not roots:
            return []
        keys = [root["businessKey"] for root in roots]
        family = self.engine.post("/history/process-instance",
                                  {"processInstanceBusinessKeyIn": keys})
        variables = appeal.variables_by_instance(
            self.engine, [instance["id"] for instance in family], READ_VARIABLES)
        tasks: dict[str, dict[str, list[dict]]] = {}
        for task in self.engine.post("/history/task", {
                "processInstanceBusinessKeyIn": keys,
                "taskDefinitionKeyIn": [task_key for task_key, _ in STEP_TASKS.values()],
                "sorting": [{"sortBy": "startTime", "sortOrder": "asc"}]}):
            tasks.setdefault(task["processInstanceId"], {}).setdefault(
                task["taskDefinitionKey"], []).append(task)
        runs: dict[str, dict[str, list[Run]]] = {}
        for instance in sorted(family, key=lambda item: item["startTime"]):
            if instance["processDefinitionKey"] == APPEAL_PROCESS:
                continue
            runs.setdefault(instance["businessKey"], {}).setdefault(
                instance["processDefinitionKey"], []).append(
                Run(instance, variables.get(instance["id"], {}), tasks.get(instance["id"], {})))
        return [AppealHistory(root, variables.get(root["id"], {}),
                              runs.get(root["businessKey"], {})) for root in roots]


# -- one appeal → one row ------------------------------------------------------------------------

def _time(value: typing.Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        moment = value
    else:
        text = str(value)
        moment = parse_engine_date(text) if re.search(r"[+-]\d{4}$", text) else \
            dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


def _local(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(SHANGHAI).replace(microsecond=0).isoformat() if moment else None


def _act_time(run: Run, step: str) -> dt.datetime | None:
    task_key, which = STEP_TASKS[step]
    ended = [_time(task["endTime"]) for task in run.tasks.get(task_key, [])
             if task.get("deleteReason") == "completed"]  # not one cancelled with its scope
    if not ended:
        return None
    return ended[0] if which == "first" else ended[-1]


def _step_started(run: Run, step: str) -> bool:
    return bool(run.tasks.get(STEP_TASKS[step][0]))


@dataclasses.dataclass(frozen=True)
class StepOutcome:
    """One deadline of an appeal: judged, on time, and the run that decided it (the first late
    one, else the last judged): its deadline and when the unit acted (None: not yet)."""
    judged: bool
    on_time: bool
    deadline: dt.datetime | None
    done_at: dt.datetime | None


def step_outcome(history: AppealHistory, step: str, as_of: dt.datetime) -> StepOutcome:
    """The outcome of one deadline over all the appeal's unit-handling runs.

    A run is late on a step when its overdue flag is set, when the unit acted after the
    deadline, or when the deadline has passed with the step still open. The appeal is on time
    when at least one run was judged and none was late.
    """
    name = STEP_VARIABLES[step]
    flagged = bool(history.variables.get(f"{name}Overdue"))
    extended = _time(history.variables.get("completionDeadline")) \
        if step == "completion" and history.variables.get("extensionApproved") else None
    judged_runs = []  # (deadline, acted, late) of each run judged on this step
    for run in history.runs_of(UNIT_PROCESS):
        if not _step_started(run, step) and not run.variables.get(f"{name}Overdue"):
            continue
        deadline = _time(run.variables.get(f"{name}Deadline"))
        if extended and deadline and extended > deadline:
            deadline = extended
        acted = _act_time(run, step)
        run_late = bool(run.variables.get(f"{name}Overdue")) or bool(
            deadline and (acted or as_of) > deadline)
        if acted or run_late:
            judged_runs.append((deadline, acted, run_late))
    late_runs = [run for run in judged_runs if run[2]]
    judged = flagged or bool(judged_runs)
    on_time = judged and not flagged and not late_runs
    deadline, acted, _ = (late_runs or judged_runs or [
        (_time(history.variables.get(f"{name}Deadline")), None, flagged)])[
        0 if late_runs else -1]
    return StepOutcome(judged, on_time, deadline, acted)


def caller_key(phone: str | None, secret: bytes) -> str | None:
    digits = re.sub(r"\D", "", phone or "")
    if not digits:
        return None
    return hmac.new(secret, digits.encode(), hashlib.sha256).hexdigest()[:20]


def address_key(township: str | None, address: str | None) -> str | None:
    normalised = re.sub(r"[\s,，。.、;；:：()（）\-—]", "", address or "")
    return f"{township or ''}|{normalised}" if normalised else None


def _supervision_counts(history: AppealHistory) -> dict[int, int]:
    levels = [run.variables.get("supervisionLevel") for run in history.runs_of(SUPERVISION_PROCESS)]
    return {level: sum(1 for found in levels if found in (level, str(level)))
            for level in (1, 2, 3)}


def appeal_row(history: AppealHistory, as_of: dt.datetime, secret: bytes) -> dict:
    """The store's row for one appeal, from its whole history (see docs/assessment.md)."""
    values = history.variables
    received = _time(values.get("receivedAt")) or _time(history.root["startTime"])
    received_local = received.astimezone(SHANGHAI)
    closed = history.root.get("state") == "COMPLETED"
    unit_runs = history.runs_of(UNIT_PROCESS)
    consultations = history.runs_of(CONSULTATION_PROCESS)
    outcomes = {step: step_outcome(history, step, as_of) for step in STEP_TASKS}
    supervision = _supervision_counts(history)
    overdue_flags = {step: bool(values.get(f"{STEP_VARIABLES[step]}Overdue")) or any(
        run.variables.get(f"{STEP_VARIABLES[step]}Overdue") for run in unit_runs)
        for step in STEP_TASKS}
    flag = lambda value: 1 if value else 0  # noqa: E731 - SQLite has no booleans
    # A merged appeal's callback judges the main appeal's handling, which the main appeal's own
    # evaluation already counts: it is received once and counted as merged, never evaluated.
    merged_into = values.get("mergedInto") or None
    reached = values.get("callbackReached") is not False and merged_into is None
    return {
        "appeal_number": history.root["businessKey"],
        "source": "engine",
        "state": "closed" if closed else "open",
        "received_at": _local(received),
        "received_date": received_local.date().isoformat(),
        "received_week": (received_local.date()
                          - dt.timedelta(days=received_local.weekday())).isoformat(),
        "closed_at": _local(_time(history.root.get("endTime"))) if closed else None,
        "title": values.get("title"),
        "kind": values.get("kind"),
        "category_code": values.get("categoryCode"),
        "township": values.get("township") or None,
        "lead_unit": values.get("leadUnit") or None,
        "co_units": json.dumps(values.get("coUnits") or [], ensure_ascii=False),
        "important": flag(values.get("important")),
        "leader_received": flag(values.get("leaderReceived")),
        "closed_as": values.get("closedAs") if closed else None,
        # The last callback counts: one that did not reach the caller leaves no evaluation.
        "evaluation": values.get("evaluation") if reached else None,
        "solved_confirmed": flag(values["solvedConfirmed"])
        if reached and values.get("solvedConfirmed") is not None else None,
        "dispatched": flag(unit_runs),
        "unit_runs": len(unit_runs),
        "redispatch_count": int(values.get("redispatchCount") or 0),
        "return_count": int(values.get("returnCount") or 0),
        "improper_return_count": int(values.get("improperReturnCount") or 0),
        **{f"{step}_judged": flag(outcomes[step].judged) for step in STEP_TASKS},
        **{f"{step}_on_time": flag(outcomes[step].on_time) for step in STEP_TASKS},
        **{f"{step}_deadline": _local(outcomes[step].deadline) for step in STEP_TASKS},
        **{f"{step}_done_at": _local(outcomes[step].done_at) for step in STEP_TASKS},
        **{f"{step}_overdue": flag(overdue_flags[step]) for step in STEP_TASKS},
        "overdue": flag(values.get("overdue") or any(overdue_flags.values())),
        "extension_approved": flag(values.get("extensionApproved")),
        "supervision_level1": supervision[1],
        "supervision_level2": supervision[2],
        "supervision_level3": supervision[3],
        "consultations": len(consultations),
        "consultation_outcome": consultations[-1].variables.get("consultationOutcome")
        if consultations else None,
        "tolerance_flag": flag(any(run.variables.get("toleranceFlag") for run in consultations)),
        "callback_attempts": int(values.get("callbackAttempts") or 0),
        "caller_key": caller_key(values.get("callerPhone"), secret),
        "address_key": address_key(values.get("township"), values.get("address")),
        "major_risk_words": json.dumps(values.get("majorRiskWords") or [], ensure_ascii=False),
        "merged_into": merged_into,
    }


# -- the sync ------------------------------------------------------------------------------------

def caller_secret(db_path: Path) -> bytes:
    """The key of the callers' hashes, made once beside the store and readable only by us."""
    path = db_path.with_name("caller-key.secret")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip().encode()


def now() -> dt.datetime:
    return dt.datetime.now(SHANGHAI)


def sync(engine: EngineClient, db_path: Path, *, page_size: int = 100,
         on_page: typing.Callable[[int], None] | None = None,
         overlap: dt.timedelta = OVERLAP) -> SyncReport:
    """Bring the store up to date with the engine; `on_page(appeals)` after each committed page.
    `overlap`: how far before the watermark the closed pass starts (see the module's doc)."""
    reader = HistoryReader(engine, page_size)
    secret = caller_secret(db_path)
    db = store.connect(db_path)
    report = SyncReport()
    try:
        watermark = store.state(db, WATERMARK)
        since = _time(watermark) - overlap if watermark else None
        for roots in reader.closed_roots(since):
            as_of = now()
            kept = [root for root in _not_yet_closed(db, roots)
                    if root["state"] not in TERMINATED]
            removed = [root["businessKey"] for root in roots
                       if root["state"] in TERMINATED and root.get("businessKey")]
            rows = [appeal_row(history, as_of, secret) for history in reader.appeals(kept)]
            with _transaction(db):
                store.upsert(db, rows)
                db.executemany("DELETE FROM appeals WHERE appeal_number = ?",
                               [(number,) for number in removed])
                _advance_watermark(db, roots[-1]["endTime"])
            report.closed += len(rows)
            report.removed += len(removed)
            report.pages += 1
            if on_page:
                on_page(len(roots))
        for roots in reader.open_roots():
            rows = [appeal_row(history, now(), secret) for history in reader.appeals(roots)]
            with _transaction(db):
                store.upsert(db, rows)
            report.open += len(rows)
            report.pages += 1
            if on_page:
                on_page(len(roots))
        report.watermark = store.state(db, WATERMARK)
        store.set_state(db, LAST_SYNC, now().replace(microsecond=0).isoformat())
    finally:
        db.close()
    return report


def _not_yet_closed(db: sqlite3.Connection, roots: list[dict]) -> list[dict]:
    """The roots whose final row the store lacks: the overlap window reads again the appeals
    that closed just before the watermark, and only those missed need their history read."""
    numbers = [root["businessKey"] for root in roots if root.get("businessKey")]
    closed = {row["appeal_number"]: row["closed_at"] for row in db.execute(
        f"SELECT appeal_number, closed_at FROM appeals WHERE state = 'closed' AND appeal_number "
        f"IN ({', '.join('?' * len(numbers))})", numbers)}
    return [root for root in roots
            if closed.get(root.get("businessKey")) != _local(_time(root["endTime"]))]


def _advance_watermark(db: sqlite3.Connection, end_time: str) -> None:
    """Move the watermark forward only: a sync running alongside may have moved it further."""
    current = store.state(db, WATERMARK)
    if not current or _time(end_time) > _time(current):
        store.set_state(db, WATERMARK, end_time)


class _transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, value, traceback):
        self.db.execute("ROLLBACK" if kind else "COMMIT")
