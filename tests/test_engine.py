"""The engine `suban up` starts: version, health, security defaults."""
import pytest
import requests

from deploy import stack
from external_tasks.camunda import EngineClient, EngineError


def test_engine_is_healthy_camunda_7_24(settings, engine):
    assert stack.engine_healthy(settings)
    assert engine.get("/version") == {"version": "7.24.0"}
    assert engine.get("/engine") == [{"name": "default"}]


def test_rest_api_refuses_requests_without_credentials(settings):
    response = requests.get(f"{settings.engine_rest_url}/process-definition", timeout=5)
    assert response.status_code == 401
    assert "Basic" in response.headers.get("WWW-Authenticate", "")


def test_wrong_password_is_a_clear_401_message(settings):
    # A user that does not exist: the engine refuses further logins of an existing user for a
    # while after a failed one, and other tests log in as every demo user.
    client = EngineClient(settings.engine_rest_url, "no-such-user", "not-the-password")
    with pytest.raises(EngineError) as refused:
        client.get("/process-definition")
    assert refused.value.status == 401
    assert "refused the credentials of user 'no-such-user'" in str(refused.value)
    assert "SUBAN_ADMIN_PASSWORD" in str(refused.value)


def test_authorization_is_enforced_for_unit_users(as_user):
    # A unit's demo user may not administer identities.
    with pytest.raises(EngineError) as refused:
        as_user("housing01").post("/group/create", {"id": "intruders", "name": "x", "type": "x"})
    assert refused.value.status == 403


def test_full_history_and_default_time_to_live(engine, start_instance):
    instance = start_instance("test_unit_task", {"unit": "housing"})
    definition = engine.get(f"/process-definition/{instance['definitionId']}")
    assert definition["historyTimeToLive"] == 1825
    # Full history records variable updates, not just instances and activities.
    details = engine.get("/history/detail", processInstanceId=instance["id"])
    assert any(detail.get("variableName") == "unit" for detail in details)
