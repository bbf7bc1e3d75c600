"""Appeal numbers come from the engine's database (the single node's H2 here; the two-node test
is in test_cluster.py): one count a day, no number twice, the same number for a redelivered
register-appeal task, and only for accounts that start or work appeals."""
from __future__ import annotations

import concurrent.futures
import uuid

import pytest
import requests

from external_tasks.camunda import EngineClient, EngineError
from external_tasks.intake import NUMBER_PATTERN, NUMBER_PREFIX, now_in_shanghai, take_appeal_number
from tests.appeal_load import APPEAL, start_numberless_appeal, worker_numbers
from tests.appeal_driver import unique_phone


@pytest.fixture
def worker_engine(settings) -> EngineClient:
    return EngineClient(settings.engine_rest_url, settings.worker_user, settings.worker_password)


def post_appeal(settings) -> str:
    response = requests.post(f"{settings.console_url}/api/v1/appeals", timeout=60,
                             json=APPEAL | {"callerPhone": unique_phone()},
                             headers={"Authorization": f"Bearer {settings.api_token}"})
    assert response.status_code == 201, response.text
    return response.json()["appealNumber"]


def test_numbers_taken_at_once_through_the_api_the_workers_and_the_engine_are_distinct(
        settings, engine, worker_engine):
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        through_api = [pool.submit(post_appeal, settings) for _ in range(12)]
        numberless = [pool.submit(start_numberless_appeal, engine) for _ in range(6)]
        direct = [pool.submit(take_appeal_number, client)
                  for client in (engine, worker_engine) * 10]
        instance_ids = [future.result() for future in numberless]
        numbers = [future.result() for future in through_api + direct]
    numbers += worker_numbers(engine, instance_ids, timeout=120).values()
    assert len(numbers) == 38 and len(set(numbers)) == 38, sorted(numbers)
    today = f"{NUMBER_PREFIX}{now_in_shanghai():%Y%m%d}-"
    assert all(NUMBER_PATTERN.match(number) and number.startswith(today) for number in numbers)


def test_a_claim_gets_its_number_again(engine, worker_engine):
    """What a redelivered register-appeal task does: it claims by its process instance."""
    claim = str(uuid.uuid4())
    first = take_appeal_number(worker_engine, claim=claim)
    assert take_appeal_number(worker_engine, claim=claim) == first
    assert take_appeal_number(engine, claim=claim) == first
    assert take_appeal_number(worker_engine, claim=str(uuid.uuid4())) != first


def test_register_appeal_numbers_an_appeal_by_its_claim(engine, worker_engine):
    instance_id = start_numberless_appeal(engine)
    [number] = worker_numbers(engine, [instance_id], timeout=60).values()
    assert take_appeal_number(worker_engine, claim=instance_id) == number


@pytest.mark.parametrize("claim", ["", " ", "x" * 65])
def test_a_bad_claim_is_refused_with_the_reason(engine, claim):
    with pytest.raises(EngineError) as refused:
        engine.post("/suban/appeal-numbers", {"claim": claim})
    assert refused.value.status == 400 and "claim must be" in str(refused.value)


def test_a_units_account_takes_no_number(as_user):
    with pytest.raises(EngineError) as refused:
        take_appeal_number(as_user("housing01"))
    assert refused.value.status == 403 and "may not take appeal numbers" in str(refused.value)


def test_numbers_need_the_engines_login(settings):
    response = requests.post(f"{settings.engine_rest_url}/suban/appeal-numbers", json={},
                             timeout=30)
    assert response.status_code == 401
