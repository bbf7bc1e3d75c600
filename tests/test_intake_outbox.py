"""Intake never loses an appeal: with the engine away, the console stores it (202) and says it is
queued; the relay starts it once the engine answers, exactly once, even across a crash."""
from __future__ import annotations

import dataclasses
import socket
import threading
import time

import pytest
import requests

from console import create_app
from console.outbox import CLAIM_S, QUEUED, STARTED, IntakeOutbox, IntakeRelay, outbox_path
from external_tasks.appeal import APPEAL_PROCESS
from external_tasks.intake import NUMBER_PATTERN, take_offline_series
from tests.conftest import free_port, wait_until
from tests.helpers import INTAKE_APPEAL



class ProcessKilled(BaseException):
    """Stands for kill -9: nothing after it runs, no handler catches it."""


class CrashAfterStart(IntakeOutbox):
    def mark_started(self, number: str, instance_id: str) -> None:
        raise ProcessKilled(f"killed after starting {number}")


def console_without_engine(settings, engine, engine_port: int, outbox_file):
    """A console whose engine URL leads nowhere; it got its offline series (unless its outbox
    had one) while the engine answered."""
    app = create_app(dataclasses.replace(settings, engine_port=engine_port))
    app.config["SUBAN_INTAKE_OUTBOX"] = IntakeOutbox(outbox_file)
    app.config["SUBAN_INTAKE_OUTBOX"].keep_offline_series(take_offline_series(engine))
    return app.test_client()


def post_appeal(client, settings, **fields):
    return client.post("/api/v1/appeals", json=INTAKE_APPEAL | fields,
                       headers={"Authorization": f"Bearer {settings.api_token}"})


def queue_appeal(client, settings) -> str:
    response = post_appeal(client, settings)
    assert response.status_code == 202, response.get_data(as_text=True)
    assert response.json["status"] == "queued"
    return response.json["appealNumber"]


def status_of(client, settings, number: str) -> dict:
    response = client.get(f"/api/v1/appeals/{number}",
                          headers={"Authorization": f"Bearer {settings.api_token}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def instances_of(engine, number: str) -> list[dict]:
    return engine.get("/history/process-instance", processInstanceBusinessKey=number,
                      processDefinitionKey=APPEAL_PROCESS)


@pytest.fixture
def down_console(settings, engine, tmp_path):
    return console_without_engine(settings, engine, free_port(), tmp_path / "outbox.sqlite")


def test_engine_up_appeal_starts_at_once_and_the_outbox_keeps_no_caller_data(settings, engine):
    response = requests.post(f"{settings.console_url}/api/v1/appeals", json=INTAKE_APPEAL, timeout=30,
                             headers={"Authorization": f"Bearer {settings.api_token}"})
    assert response.status_code == 201, response.text
    number = response.json()["appealNumber"]
    assert [item["id"] for item in instances_of(engine, number)] == \
        [response.json()["processInstanceId"]]
    row = IntakeOutbox(outbox_path(settings)).entry(number)
    assert row["status"] == STARTED and row["variables"] == {}


def test_engine_down_appeal_is_queued_then_started_once(settings, engine, down_console,
                                                        tmp_path):
    number = queue_appeal(down_console, settings)

    queued = status_of(down_console, settings, number)
    assert queued["status"] == "queued" and queued["currentSteps"] == []
    assert queued["variables"]["title"] == INTAKE_APPEAL["title"]
    assert INTAKE_APPEAL["callerPhone"] not in str(queued), "the queued status shows no caller data"
    received = queued["variables"]["receivedAt"]
    assert instances_of(engine, number) == []

    relay = IntakeRelay(IntakeOutbox(tmp_path / "outbox.sqlite"), engine)
    assert relay.relay_due() == [number]
    assert relay.relay_due() == []
    assert len(instances_of(engine, number)) == 1
    row = IntakeOutbox(tmp_path / "outbox.sqlite").entry(number)
    assert row["status"] == STARTED and row["variables"] == {}, "no caller data kept once sent"

    # The stack's own console now reads it from the engine; the receipt time is the POST's.
    def registered():
        response = requests.get(f"{settings.console_url}/api/v1/appeals/{number}", timeout=30,
                                headers={"Authorization": f"Bearer {settings.api_token}"})
        body = response.json()
        return "callerPhoneMasked" in body.get("variables", {}) and body
    started = wait_until(registered, what=f"{number} to be registered")
    assert started["status"] == "open"
    assert started["variables"]["receivedAt"] == received


def test_slow_engine_answer_is_bounded_and_the_appeal_queued(settings, engine, tmp_path):
    with socket.socket() as silent_engine:  # accepts connections, never answers
        silent_engine.bind(("127.0.0.1", 0))
        silent_engine.listen()
        client = console_without_engine(settings, engine, silent_engine.getsockname()[1],
                                        tmp_path / "outbox.sqlite")
        number = queue_appeal(client, settings)
        assert status_of(client, settings, number)["status"] == "queued"
    row = IntakeOutbox(tmp_path / "outbox.sqlite").entry(number)
    assert row["status"] == QUEUED and "cannot be reached" in row["last_error"]
    assert IntakeRelay(IntakeOutbox(tmp_path / "outbox.sqlite"), engine).relay_due() == [number]
    assert len(instances_of(engine, number)) == 1


def test_crash_between_start_and_mark_starts_one_instance(settings, engine, down_console,
                                                          tmp_path):
    number = queue_appeal(down_console, settings)
    outbox_file = tmp_path / "outbox.sqlite"
    with pytest.raises(ProcessKilled):
        IntakeRelay(CrashAfterStart(outbox_file), engine).relay_due()
    assert len(instances_of(engine, number)) == 1
    assert IntakeOutbox(outbox_file).entry(number)["status"] == QUEUED

    # The dead relay's claim holds the row until it runs out; then the next relay only marks it.
    assert IntakeRelay(IntakeOutbox(outbox_file), engine).relay_due() == []
    after_claim = IntakeOutbox(outbox_file, clock=lambda: time.time() + 2 * CLAIM_S)
    assert IntakeRelay(after_claim, engine).relay_due() == [number]
    row = IntakeOutbox(outbox_file).entry(number)
    assert row["status"] == STARTED and row["attempts"] == 2  # the dead relay's and this one
    assert row["process_instance_id"] == instances_of(engine, number)[0]["id"]
    assert len(instances_of(engine, number)) == 1


def test_two_relays_at_once_start_each_appeal_once(settings, engine, down_console, tmp_path):
    numbers = [queue_appeal(down_console, settings) for _ in range(4)]
    together = threading.Barrier(2)
    delivered: list[list[str]] = []

    def relay():
        relay = IntakeRelay(IntakeOutbox(tmp_path / "outbox.sqlite"), engine)
        together.wait()
        delivered.append(relay.relay_due())
    threads = [threading.Thread(target=relay) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(delivered[0] + delivered[1]) == sorted(numbers)
    for number in numbers:
        assert len(instances_of(engine, number)) == 1, number


def test_the_stacks_console_relays_what_another_console_queued(settings, engine):
    """`suban up` runs the relay in the console process: an appeal queued in its outbox by a
    console that could not reach the engine is started without anyone asking."""
    elsewhere = console_without_engine(settings, engine, free_port(), outbox_path(settings))
    number = queue_appeal(elsewhere, settings)
    wait_until(lambda: IntakeOutbox(outbox_path(settings)).entry(number)["status"] == STARTED,
               what=f"the stack's relay to start {number}")
    assert len(instances_of(engine, number)) == 1


def test_offline_numbers_are_each_consoles_own_series(settings, engine, tmp_path):
    """Two consoles with the engine away: each numbers in its own series, counted per day, and
    no offline number can be one the engine gives (those have no series)."""
    consoles = [console_without_engine(settings, engine, free_port(), tmp_path / f"{name}.sqlite")
                for name in ("first", "second")]
    numbers = [queue_appeal(console, settings) for console in consoles for _ in range(2)]
    assert len(set(numbers)) == 4 and all(NUMBER_PATTERN.match(number) for number in numbers)
    series = [number.split("-")[1] for number in numbers]
    assert series[0] == series[1] != series[2] == series[3] and series[0].startswith("L")
    assert [number.split("-")[2] for number in numbers] == ["0001", "0002"] * 2
    assert IntakeRelay(IntakeOutbox(tmp_path / "first.sqlite"), engine).relay_due() == numbers[:2]
    assert [len(instances_of(engine, number)) for number in numbers[:2]] == [1, 1]


def test_a_console_that_never_reached_the_engine_refuses_appeals_while_it_is_away(settings,
                                                                                  tmp_path):
    app = create_app(dataclasses.replace(settings, engine_port=free_port()))
    app.config["SUBAN_INTAKE_OUTBOX"] = IntakeOutbox(tmp_path / "outbox.sqlite")
    response = post_appeal(app.test_client(), settings)
    assert response.status_code == 503, response.get_data(as_text=True)
    assert "_engine" in response.json["errors"]
    assert IntakeOutbox(tmp_path / "outbox.sqlite").offline_series() is None


def test_the_relay_gets_its_console_an_offline_series_once(engine, tmp_path):
    outbox = IntakeOutbox(tmp_path / "outbox.sqlite")
    relay = IntakeRelay(outbox, engine)
    relay.ensure_offline_series()
    series = outbox.offline_series()
    relay.ensure_offline_series()
    assert series is not None and outbox.offline_series() == series
    assert outbox.keep_offline_series(series + 1) == series, "a console keeps its first series"
