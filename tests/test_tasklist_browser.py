"""Tasklist in a real browser: a unit's demo user sees only that unit's tasks."""


def test_department_user_sees_only_own_tasks_in_tasklist(tasklist, engine, start_instance):
    own = start_instance("test_unit_task", {"unit": "housing"})
    other = start_instance("test_unit_task", {"unit": "fengcheng"})
    own_task = engine.get("/task", processInstanceId=own["id"])[0]
    other_task = engine.get("/task", processInstanceId=other["id"])[0]

    page = tasklist("housing01")
    page.locator(".task-filters").get_by_text("本单位待办").click()
    items = page.locator(".tasks-list li.task")
    items.first.wait_for()
    assert items.count() == 1
    assert "办理工单" in items.first.inner_text()

    page.goto(page.url.split("#")[0] + f"#/?task={own_task['id']}")
    page.locator(".task-details").get_by_text("办理工单").first.wait_for()

    page.goto(page.url.split("#")[0] + f"#/?task={other_task['id']}")
    page.get_by_text("Select a task in the list.").or_(
        page.locator(".notifications").get_by_text("not")).first.wait_for()
    assert page.locator(".task-details h2").count() == 0 or \
        "办理工单" not in page.locator(".task-details").inner_text()
