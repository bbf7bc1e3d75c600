"""Tasklist in a real browser: a unit's demo user sees only that unit's tasks."""


def test_department_user_sees_only_own_tasks_in_tasklist(tasklist, engine, start_instance):
    # Units no other test gives work to: the list holds exactly this test's task.
    own = start_instance("test_unit_task", {"unit": "tax"})
    other = start_instance("test_unit_task", {"unit": "dingli"})
    own_task = engine.get("/task", processInstanceId=own["id"])[0]
    other_task = engine.get("/task", processInstanceId=other["id"])[0]

    page = tasklist("tax01")
    page.locator(".task-filters").get_by_text("本单位待办").click()
    items = page.locator(".tasks-list li.task")
    items.first.wait_for()
    assert items.count() == 1
    assert "办理工单" in items.first.inner_text()

    page.goto(page.url.split("#")[0] + f"#/?task={own_task['id']}")
    page.locator(".task-details").get_by_text("办理工单").first.wait_for()

    page.goto(page.url.split("#")[0] + f"#/?task={other_task['id']}")
    page.get_by_text("请在列表中选择一个任务。").or_(
        page.locator(".notifications").get_by_text("不存在")).first.wait_for()
    assert page.locator(".task-details h2").count() == 0 or \
        "办理工单" not in page.locator(".task-details").inner_text()


def test_department_user_signs_for_an_appeal_with_our_form(tasklist, settings, engine, as_user):
    from tests.appeal_driver import AppealDriver, unique_phone
    from tests.conftest import wait_until

    appeals = AppealDriver(settings, engine, as_user)
    phone = unique_phone()
    # 不动产登记 is led by the department (属事), dispatched automatically.
    number = appeals.submit(categoryCode="construction.propertyRegistration",
                            title="不动产证办理进度", content="房产证申请已满两个月仍未办好, 请协调",
                            callerPhone=phone)
    task = appeals.task(number, "naturalres01", "Task_SignForAppeal")

    page = tasklist("naturalres01")
    page.goto(page.url.split("#")[0] + f"#/?task={task['id']}")
    page.get_by_text("认领", exact=True).click()
    form = page.locator(".form-pane, .task-details")
    assert form.get_by_label("工单编号").input_value() == number
    assert form.get_by_label("联系电话").input_value() == phone
    form.get_by_label("签收", exact=True).check()
    page.get_by_role("button", name="完成").click()

    # The form's own rules let it through, the engine moved on to 办理.
    appeals.task(number, "naturalres01", "Task_HandleAppeal")
    history = wait_until(lambda: engine.get("/history/task", taskId=task["id"], finished="true"),
                         what="the sign-for task to be completed")
    assert history[0]["assignee"] == "naturalres01"
