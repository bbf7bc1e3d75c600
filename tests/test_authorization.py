"""Units see and work only their own tasks, in the engine as in Tasklist."""
import pytest

from admin_data.directory import load_directory
from deploy.directory_sync import DirectorySync
from external_tasks.camunda import EngineError


def unit_task(engine, instance_id):
    tasks = engine.get("/task", processInstanceId=instance_id)
    assert len(tasks) == 1
    return tasks[0]


def test_department_user_cannot_see_or_complete_a_township_task(engine, as_user, start_instance):
    instance = start_instance("test_unit_task", {"unit": "fengcheng"})
    task = unit_task(engine, instance["id"])
    department = as_user("housing01")

    assert department.get("/task", processInstanceId=instance["id"]) == []
    with pytest.raises(EngineError) as refused:
        department.post(f"/task/{task['id']}/complete", {})
    assert refused.value.status in (403, 404)
    with pytest.raises(EngineError):
        department.post(f"/task/{task['id']}/claim", {"userId": "housing01"})
    assert unit_task(engine, instance["id"])["assignee"] is None

    township = as_user("fengcheng01")
    assert [t["id"] for t in township.get("/task", processInstanceId=instance["id"])] == [task["id"]]
    township.post(f"/task/{task['id']}/claim", {"userId": "fengcheng01"})
    township.post(f"/task/{task['id']}/complete", {})
    assert engine.get("/process-instance", processInstanceIds=instance["id"]) == []


def test_unit_filter_in_tasklist_shows_only_own_unit_tasks(engine, as_user, start_instance):
    own = start_instance("test_unit_task", {"unit": "longhe"})
    other = start_instance("test_unit_task", {"unit": "market"})
    user = as_user("longhe01")
    filters = {f["name"]: f["id"] for f in user.get("/filter", resourceType="Task")}
    assert set(filters) >= {"本单位待办", "我的待办"}
    listed = user.post(f"/filter/{filters['本单位待办']}/list", {})
    instances = {task["processInstanceId"] for task in listed}
    assert own["id"] in instances
    assert other["id"] not in instances


def test_every_unit_user_may_open_tasklist(engine, settings):
    directory = load_directory()
    grants = engine.get("/authorization", resourceType=0, resourceId="tasklist")
    granted_groups = {grant["groupId"] for grant in grants}
    assert {unit.id for unit in directory.units} <= granted_groups
    for unit in directory.units:
        members = engine.get("/user", memberOfGroup=unit.id)
        assert unit.demo_user in {member["id"] for member in members}


def test_directory_sync_twice_changes_nothing(engine, settings):
    report = DirectorySync(engine, settings).run(load_directory())
    assert report.changes == []


def test_directory_covers_the_county(engine):
    directory = load_directory()
    territorial = [unit for unit in directory.units if unit.territorial]
    assert len(territorial) == 27
    assert directory.unit("hotline").name == "县数据资源局(政务服务局)"
    groups = {group["id"]: group for group in engine.get("/group", maxResults=500)}
    assert groups["zhangzhuangzhai"]["name"] == "张庄寨镇"
    assert groups["kaifaqu"]["type"] == "development_zone"
