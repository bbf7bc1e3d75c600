"""The engine `suban up` starts: version, health, security defaults."""
import pytest
import requests

from deploy import stack
from deploy.directory_sync import PROCESS_DEFINITION, WORKERS_GROUP
from external_tasks.camunda import EngineClient, EngineError
from tests.conftest import wait_until

ADMINS = "camunda-admin"  # the engine's administrators' group


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


def test_engine_work_counts_transactions_for_administrators_only(engine, as_user):
    before = engine.get("/suban/engine-work")
    engine.get("/process-definition/count")
    after = engine.get("/suban/engine-work")
    assert after["transactions"] > before["transactions"]
    assert after["commands"]["ProcessDefinitionQueryImpl"] \
        > before["commands"].get("ProcessDefinitionQueryImpl", 0)
    with pytest.raises(EngineError) as refused:
        as_user("housing01").get("/suban/engine-work")
    assert refused.value.status == 403


def test_administrators_read_without_authorization_checks(settings, engine, start_instance):
    """Camunda joins every query with the authorizations, an administrator's too; on a long
    history that join was most of the assessment sync's time. Administrators now read without
    it (AdministratorsUnchecked), as their commands already do: a revoke no longer hides
    anything from an administrator, while the same revoke still hides it from anyone else."""
    instance = start_instance("test_unit_task", {"unit": "housing"})
    revokes = []
    try:
        for user, group in (("revokedadmin01", ADMINS), ("revokedworker01", WORKERS_GROUP)):
            engine.post("/user/create", {
                "profile": {"id": user, "firstName": "撤销", "lastName": "授权",
                            "email": f"{user}@suban.invalid"},
                "credentials": {"password": "revoked-read-1"}})
            engine.rest("PUT", f"/group/{group}/members/{user}", expect_json=False)
            revokes.append(engine.post("/authorization/create", {
                "type": 2, "permissions": ["READ_HISTORY"], "userId": user, "groupId": None,
                "resourceType": PROCESS_DEFINITION, "resourceId": "test_unit_task"}))

        def unit_tasks(user):
            return EngineClient(settings.engine_rest_url, user, "revoked-read-1").get(
                "/history/task", processInstanceId=instance["id"])
        assert [task["taskDefinitionKey"] for task in unit_tasks("revokedadmin01")] \
            == ["Task_Handle"]
        assert unit_tasks("revokedworker01") == []
    finally:  # a revoke left behind would make the engine check revokes on every query
        for revoke in revokes:
            engine.rest("DELETE", f"/authorization/{revoke['id']}", expect_json=False)
        for user in ("revokedadmin01", "revokedworker01"):
            engine.rest("DELETE", f"/user/{user}", expect_json=False)


def test_h2_store_is_compacted_so_the_file_stops_growing(engine, as_user, start_instance):
    """H2 writes each commit as a new chunk and reuses a chunk's space only once none of its
    pages is live; the engine rewrites the live pages of sparse chunks (H2Compaction). The
    chunks it empties are dropped after H2's 45-second retention time, hence the wait."""
    instance = start_instance("test_unit_task", {"unit": "housing"})
    for round_ in range(100):  # many commits, each leaving the previous chunk sparser
        engine.rest("PUT", f"/process-instance/{instance['id']}/variables/note",
                    json={"value": f"第{round_}次", "type": "String"}, expect_json=False)
    store = engine.get("/suban/h2-store")
    assert store["h2"] and store["fileBytes"] > 0
    assert store["chunksFillRate"] < store["startFillRate"], store

    def compacted():
        store = engine.post("/suban/h2-store", {})
        return store["chunksFillRate"] >= store["startFillRate"]
    wait_until(compacted, timeout=150, interval=5, what="chunks compacted")
    with pytest.raises(EngineError) as refused:
        as_user("housing01").post("/suban/h2-store", {})
    assert refused.value.status == 403


def test_remembered_logins_end_with_a_new_password_or_membership(settings, engine):
    """The REST login remembers a successful login for a while; a change of the user's
    password or groups through the engine takes effect on the next call all the same."""
    user, old, new = "logincache01", "old-password-1", "new-password-2"
    if engine.get("/user", id=user):
        engine.rest("DELETE", f"/user/{user}", expect_json=False)
    engine.post("/user/create", {"profile": {"id": user, "firstName": "登录", "lastName": "缓存",
                                             "email": f"{user}@suban.invalid"},
                                 "credentials": {"password": old}})
    engine.rest("PUT", f"/group/{ADMINS}/members/{user}", expect_json=False)
    as_old = EngineClient(settings.engine_rest_url, user, old)
    assert as_old.get("/suban/engine-work")["transactions"] > 0  # remembered from here on
    engine.rest("DELETE", f"/group/{ADMINS}/members/{user}", expect_json=False)
    with pytest.raises(EngineError) as refused:
        as_old.get("/suban/engine-work")
    assert refused.value.status == 403
    engine.rest("PUT", f"/user/{user}/credentials", json={
        "password": new, "authenticatedUserPassword": settings.admin_password}, expect_json=False)
    assert EngineClient(settings.engine_rest_url, user, new).get("/process-definition/count")
    # Last: a refused password makes the engine refuse the user's logins for a while.
    with pytest.raises(EngineError) as refused:
        as_old.get("/process-definition/count")
    assert refused.value.status == 401
