"""Connectors against real local servers: an HTTP server standing in for the SMS gateway and the
group-chat robots, and an aiosmtpd SMTP server. No engine needed."""
from __future__ import annotations

import email
import email.policy
import json
import time
from pathlib import Path

import pytest

from connectors import (NotificationsError, DeliveryFailed, DeliveryRejected, Notifier, Outbox,
                        TemplateError, load_config, mask_name, mask_phone, summary)
from connectors.webhook import webhook_body
from tests.conftest import free_port
from tests.local_servers import (APPEAL, NAME, PHONE, RecordingGateway, RecordingSleep, server_env,
                                 write_config)

def make_notifier(tmp_path: Path, env: dict, **config) -> Notifier:
    loaded = load_config(write_config(tmp_path, **config), env=env)
    return Notifier(loaded, Outbox(tmp_path / "sent-log.sqlite3", lease_s=5),
                    sleep=RecordingSleep())


def housing_channels(gateway: RecordingGateway, style: str = "wecom",
                     format: str = "markdown") -> dict:
    return {"housing": {"email": ["zjj@example.cn", "zjj-duty@example.cn"],
                        "webhook": {"url": gateway.url("/robot/housing?key=secret"),
                                    "style": style, "format": format}}}


def mail_text(message: email.message.EmailMessage) -> str:
    return f"{message['Subject']}\n{message.get_content()}"


# -- SMS to the caller -----------------------------------------------------------------------------

def test_caller_sms_carries_the_real_phone_the_sign_and_the_key(tmp_path, gateway):
    notifier = make_notifier(tmp_path, server_env(gateway))
    deliveries = notifier.notify_caller("caller_received", APPEAL, scope="pi-1:act-1")

    assert [(d.channel, d.recipient, d.status) for d in deliveries] == [("sms", "caller", "sent")]
    [request] = gateway.to("/sms")
    body, key = request["body"], "pi-1:act-1:caller_received:sms:caller"
    assert body["phone"] == PHONE
    assert body["sign"] == "萧县12345"
    assert body["content"].startswith("【萧县12345】您反映的“小区电梯停运两周无人维修”已受理")
    assert APPEAL["appealNumber"] in body["content"]
    assert body["params"] == {"title": APPEAL["title"], "appealNumber": APPEAL["appealNumber"]}
    assert body["idempotencyKey"] == key
    assert request["headers"]["Idempotency-Key"] == key
    assert request["headers"]["Authorization"] == "Bearer test-token"
    # The phone went only into the recipient field: the sent-log shows it masked.
    entry = notifier.outbox.entry(key)
    assert entry["status"] == "sent" and entry["attempts"] == 1
    assert PHONE not in json.dumps(entry, ensure_ascii=False)
    assert "138****5678" in entry["detail"]


def test_caller_sms_is_skipped_without_gateway_or_mobile_number(tmp_path, gateway, caplog):
    caplog.set_level("INFO", logger="suban.connectors")
    unconfigured = make_notifier(tmp_path, {})
    [skipped] = unconfigured.notify_caller("caller_received", APPEAL, scope="pi-2:act-1")
    assert skipped.status == "skipped" and "SUBAN_SMS_URL" in skipped.detail
    assert unconfigured.outbox.entry("pi-2:act-1:caller_received:sms:caller")["status"] == "skipped"

    configured = make_notifier(tmp_path, server_env(gateway))
    [landline] = configured.notify_caller(
        "caller_received", APPEAL | {"callerPhone": "0557-5012345"}, scope="pi-3:act-1")
    [no_phone] = configured.notify_caller("caller_received", APPEAL | {"callerPhone": None},
                                          scope="pi-4:act-1")
    assert landline.status == no_phone.status == "skipped"
    assert "055****2345" in landline.detail
    assert gateway.requests == []
    assert "0557-5012345" not in caplog.text and PHONE not in caplog.text


# -- unit messages and privacy ---------------------------------------------------------------------

def test_unit_email_and_webhook_show_the_caller_masked(tmp_path, gateway, smtp, caplog):
    caplog.set_level("INFO", logger="suban.connectors")
    notifier = make_notifier(tmp_path, server_env(gateway, smtp), units=housing_channels(gateway))
    deliveries = notifier.notify_units("unit_dispatched", ["housing"], APPEAL, scope="pi-5:act-2")

    assert sorted((d.channel, d.status) for d in deliveries) == [("email", "sent"),
                                                                 ("webhook", "sent")]
    [(recipients, mail)] = smtp.messages
    assert recipients == ["zjj@example.cn", "zjj-duty@example.cn"]
    text = mail_text(mail)
    assert mail["Subject"] == f"【宿事速办·派单】{APPEAL['appealNumber']} {APPEAL['title']}"
    assert "来电人：张** 138****5678" in text
    assert "牵头单位：县住建局" in text and "配合单位：凤城街道、县市场监管局" in text
    assert "办结时限：2025-03-19 17:30" in text and "投诉" in text
    assert mail["Idempotency-Key"] == "pi-5:act-2:unit_dispatched:email:housing"
    [robot] = gateway.to("/robot/housing?key=secret")
    assert robot["body"]["msgtype"] == "markdown"
    assert "张** 138****5678" in robot["body"]["markdown"]["content"]
    assert robot["headers"]["Idempotency-Key"] == "pi-5:act-2:unit_dispatched:webhook:housing"
    for shown in (text, robot["raw"], caplog.text):
        assert PHONE not in shown and NAME not in shown
    assert "secret" not in caplog.text  # the robot's access key stays out of the logs


def test_confidential_appeal_hides_the_caller_from_units(tmp_path, gateway, smtp):
    notifier = make_notifier(tmp_path, server_env(gateway, smtp), units=housing_channels(gateway))
    notifier.notify_units("unit_dispatched", ["housing"], APPEAL | {"confidential": True},
                          scope="pi-6:act-2")
    [(_, mail)] = smtp.messages
    [robot] = gateway.to("/robot/housing?key=secret")
    for shown in (mail_text(mail), robot["body"]["markdown"]["content"]):
        assert "来电人：（保密）" in shown
        assert "张**" not in shown and "5678" not in shown and "138" not in shown


def test_the_caller_sms_is_not_confidential_to_the_caller(tmp_path, gateway):
    notifier = make_notifier(tmp_path, server_env(gateway))
    notifier.notify_caller("caller_received", APPEAL | {"confidential": True}, scope="pi-7:a")
    assert gateway.to("/sms")[0]["body"]["phone"] == PHONE


def test_unit_without_channels_is_skipped_and_recorded(tmp_path, gateway, smtp):
    notifier = make_notifier(tmp_path, server_env(gateway, smtp), units=housing_channels(gateway))
    deliveries = notifier.notify_units("unit_dispatched", ["housing", "fengcheng"], APPEAL,
                                       scope="pi-8:act-2")
    assert sorted((d.recipient, d.channel, d.status) for d in deliveries) == [
        ("fengcheng", "email", "skipped"), ("fengcheng", "webhook", "skipped"),
        ("housing", "email", "sent"), ("housing", "webhook", "sent")]
    assert summary("unit_dispatched", deliveries) == "unit_dispatched → 2 sent, 2 skipped"
    entry = notifier.outbox.entry("pi-8:act-2:unit_dispatched:webhook:fengcheng")
    assert entry["status"] == "skipped" and "fengcheng" in entry["detail"]


def test_webhook_bodies_for_wecom_and_dingtalk():
    from connectors.config import WebhookTarget
    from connectors.templates import Message

    message = Message("t", "【派单】A1", "内容", {})
    assert webhook_body(WebhookTarget("http://x", "wecom", "text"), message) == {
        "msgtype": "text", "text": {"content": "【派单】A1\n内容"}}
    assert webhook_body(WebhookTarget("http://x", "dingtalk", "markdown"), message) == {
        "msgtype": "markdown", "markdown": {"title": "【派单】A1", "text": "### 【派单】A1\n\n内容"}}


def test_masking():
    assert mask_name("张三丰") == "张**" and mask_name("欧阳") == "欧**" and mask_name("") == ""
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("138 1234 5678") == "138****5678"
    assert mask_phone("110") == "****" and mask_phone(None) == ""


# -- exactly once, retries -------------------------------------------------------------------------

def test_same_key_sends_once_even_after_a_restart(tmp_path, gateway):
    notifier = make_notifier(tmp_path, server_env(gateway))
    first = notifier.notify_caller("caller_received", APPEAL, scope="pi-9:act-1")
    second = notifier.notify_caller("caller_received", APPEAL, scope="pi-9:act-1")
    restarted = make_notifier(tmp_path, server_env(gateway))  # same sent-log file
    third = restarted.notify_caller("caller_received", APPEAL, scope="pi-9:act-1")

    assert [d.status for d in first + second + third] == ["sent", "already_sent", "already_sent"]
    assert len(gateway.to("/sms")) == 1
    assert summary("caller_received", second) == (
        "caller_received → 0 sent, 0 skipped, 1 already sent")
    # Another step of the same process (another activity instance) is another message.
    notifier.notify_caller("caller_received", APPEAL, scope="pi-9:act-7")
    assert len(gateway.to("/sms")) == 2


def test_server_errors_are_retried_with_backoff_then_raised(tmp_path, gateway):
    notifier = make_notifier(tmp_path, server_env(gateway))
    gateway.fail_next(3, status=503)
    with pytest.raises(DeliveryFailed, match="all 3 attempts failed, last: .*answered 503"):
        notifier.notify_caller("caller_received", APPEAL, scope="pi-10:act-1")
    attempts = gateway.to("/sms")
    assert len(attempts) == 3
    assert notifier.sleep.waits == [0.05, 0.1]  # doubling
    assert attempts[2]["at"] - attempts[1]["at"] >= 0.09
    assert {request["headers"]["Idempotency-Key"] for request in attempts} == {
        "pi-10:act-1:caller_received:sms:caller"}
    assert notifier.outbox.entry("pi-10:act-1:caller_received:sms:caller")["status"] == "failed"


def test_timeouts_are_retried_then_raised(tmp_path, gateway):
    notifier = make_notifier(tmp_path, server_env(gateway))
    gateway.hang_next(3, seconds=1.5)
    started = time.monotonic()
    with pytest.raises(DeliveryFailed, match="did not answer within 0.5 s"):
        notifier.notify_caller("caller_received", APPEAL, scope="pi-11:act-1")
    assert len(gateway.to("/sms")) == 3
    assert time.monotonic() - started < 3  # each call gave up after its timeout


def test_after_the_gateway_recovers_a_new_attempt_sends_exactly_once(tmp_path, gateway):
    notifier = make_notifier(tmp_path, server_env(gateway))
    gateway.fail_next(3)
    with pytest.raises(DeliveryFailed):
        notifier.notify_caller("caller_received", APPEAL, scope="pi-12:act-1")
    assert gateway.accepted("/sms") == []

    [retried] = notifier.notify_caller("caller_received", APPEAL, scope="pi-12:act-1")
    [again] = notifier.notify_caller("caller_received", APPEAL, scope="pi-12:act-1")
    assert (retried.status, again.status) == ("sent", "already_sent")
    assert len(gateway.accepted("/sms")) == 1 and len(gateway.to("/sms")) == 4
    assert notifier.outbox.entry("pi-12:act-1:caller_received:sms:caller")["attempts"] == 2


def test_a_refusal_is_permanent_and_not_retried(tmp_path, gateway):
    notifier = make_notifier(tmp_path, server_env(gateway))
    gateway.fail_next(1, status=400)
    with pytest.raises(DeliveryRejected, match="refused the message: 400"):
        notifier.notify_caller("caller_received", APPEAL, scope="pi-13:act-1")
    assert len(gateway.to("/sms")) == 1


def test_a_failing_unit_does_not_resend_to_the_others(tmp_path, gateway, smtp):
    units = housing_channels(gateway) | {
        "market": {"webhook": {"url": gateway.url("/robot/market"), "format": "text"}}}
    notifier = make_notifier(tmp_path, server_env(gateway, smtp), units=units)
    gateway.fail_next(1, path="/robot/housing?key=secret")  # fails once, the retry works
    gateway.fail_next(3, path="/robot/market")              # every try fails
    with pytest.raises(DeliveryFailed, match="1 of 4 deliveries failed"):
        notifier.notify_units("unit_overdue", ["housing", "market"], APPEAL, scope="pi-14:act-3")
    assert len(smtp.messages) == 1 and len(gateway.accepted("/robot/housing?key=secret")) == 1

    deliveries = notifier.notify_units("unit_overdue", ["housing", "market"], APPEAL,
                                       scope="pi-14:act-3")
    assert summary("unit_overdue", deliveries) == "unit_overdue → 1 sent, 1 skipped, 2 already sent"
    assert len(smtp.messages) == 1 and len(gateway.accepted("/robot/housing?key=secret")) == 1
    [market] = gateway.accepted("/robot/market")
    assert market["body"]["msgtype"] == "text"
    assert "县市场监管局：" in market["body"]["text"]["content"]


def test_a_busy_mail_server_is_retried(tmp_path, gateway, smtp):
    notifier = make_notifier(tmp_path, server_env(gateway, smtp), units=housing_channels(gateway))
    smtp.refuse_next = ["451 4.3.0 try again later"]
    notifier.notify_units("unit_reminder", ["housing"], APPEAL, scope="pi-15:act-4")
    assert smtp.data_attempts == 2 and len(smtp.messages) == 1

    smtp.refuse_next = ["554 5.7.1 message rejected"]
    with pytest.raises(DeliveryRejected, match="554"):
        notifier.notify_units("unit_reminder", ["housing"], APPEAL, scope="pi-16:act-4")
    assert smtp.data_attempts == 3


def test_a_mail_server_that_is_down_fails_after_retries(tmp_path, gateway):
    env = server_env(gateway) | {"SUBAN_SMTP_HOST": "127.0.0.1",
                                 "SUBAN_SMTP_PORT": str(free_port()), "SUBAN_SMTP_TLS": "none"}
    notifier = make_notifier(tmp_path, env, units={"housing": {"email": ["zjj@example.cn"]}})
    with pytest.raises(DeliveryFailed, match="email unit_reminder to unit housing: all 3 attempts"):
        notifier.notify_units("unit_reminder", ["housing"], APPEAL, scope="pi-17:act-4")


# -- templates and configuration -------------------------------------------------------------------

def test_missing_variable_is_named(tmp_path):
    notifier = make_notifier(tmp_path, {})
    without_lead = {name: value for name, value in APPEAL.items() if name != "leadUnit"}
    with pytest.raises(TemplateError, match=r"模板 unit_dispatched: 缺少流程变量 leadUnit"):
        notifier.notify_units("unit_dispatched", ["housing"], without_lead, scope="pi-18:a")
    with pytest.raises(TemplateError, match="completionDeadline.*不是 ISO 8601"):
        notifier.notify_units("unit_overdue", ["housing"], APPEAL | {"completionDeadline": "下周"},
                              scope="pi-19:a")
    with pytest.raises(NotificationsError, match="模板 'no_such' 不存在"):
        notifier.notify_caller("no_such", APPEAL, scope="pi-20:a")
    with pytest.raises(NotificationsError, match="是发给单位的，不能发给来电人"):
        notifier.notify_caller("unit_dispatched", APPEAL, scope="pi-21:a")
    with pytest.raises(NotificationsError, match="目录中没有单位 'nosuchunit'"):
        notifier.notify_units("unit_dispatched", ["nosuchunit"], APPEAL, scope="pi-22:a")


@pytest.mark.parametrize("change, expected", [
    ({"templates": {"caller_received": {"audience": "caller", "text": "工单{appealNumber}，"
                                        "身份证{callerIdNumber}"}}},
     r"templates\.caller_received\.text: 未知占位符 \{callerIdNumber\}"),
    ({"templates": {"unit_reminder": {"audience": "caller", "text": "请{unitName}办理"}}},
     r"templates\.unit_reminder\.text: 未知占位符 \{unitName\}"),
    ({"templates": {"unit_overdue": {"audience": "unit", "text": "超期"}}},
     r"templates\.unit_overdue\.subject: 单位消息需要主题"),
    ({"templates": {"hotline_alert": {"audience": "everyone", "subject": "s", "text": "t"}}},
     r"templates\.hotline_alert\.audience: 应为 caller, unit, leader 之一"),
    ({"templates": {"caller_closed": {"audience": "caller", "text": "办结{appealNumber!r}"}}},
     r"templates\.caller_closed\.text: 占位符 \{appealNumber\} 不能带格式"),
    ({"templates": {"caller_closed": {"audience": "caller", "text": "办结{appealNumber"}}},
     r"templates\.caller_closed\.text: 花括号不配对"),
    ({"templates": {"Caller-Closed": {"audience": "caller", "text": "办结"}}},
     r"templates\.Caller-Closed: 模板 id 只能用小写字母"),
    ({"units": {"nosuchunit": {"email": ["a@example.cn"]}}},
     r"units\.nosuchunit: 目录中没有单位 'nosuchunit'"),
    ({"units": {"housing": {"email": ["not-an-address"]}}},
     r"units\.housing\.email\[0\]: 不是有效的电子邮箱地址"),
    ({"units": {"housing": {"webhook": {"url": "ftp://robot"}}}},
     r"units\.housing\.webhook\.url: 不是有效的 http\(s\) 地址"),
    ({"smtp": {"password": "s3cret"}},
     r"smtp\.password: 密钥不能写入配置文件，请用环境变量 SUBAN_SMTP_PASSWORD"),
    ({"smtp": {"tls": "tls1.3"}}, r"smtp\.tls: 应为 none, starttls, ssl 之一"),
])
def test_bad_configuration_names_the_entry_and_the_problem(tmp_path, change, expected):
    path = write_config(tmp_path, units=change.get("units"), templates=change.get("templates"),
                        smtp=change.get("smtp"))
    with pytest.raises(NotificationsError, match=expected) as caught:
        load_config(path, env={})
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("env, expected", [
    ({"SUBAN_SMTP_TLS": "tls"}, r"SUBAN_SMTP_TLS: 应为 none, starttls, ssl 之一"),
    ({"SUBAN_SMTP_PORT": "smtp"}, r"SUBAN_SMTP_PORT: 不是有效的端口号"),
    ({"SUBAN_SMS_URL": "gateway.local/sms"}, r"SUBAN_SMS_URL: 不是有效的 http\(s\) 地址"),
    ({"SUBAN_SMTP_HOST": "mail.example.cn", "SUBAN_SMTP_FROM": "nobody"},
     r"SUBAN_SMTP_FROM: 不是有效的发件地址"),
])
def test_bad_environment_names_the_variable(tmp_path, env, expected):
    with pytest.raises(NotificationsError, match=expected):
        load_config(write_config(tmp_path), env=env)


def test_environment_overrides_the_file(tmp_path):
    path = write_config(tmp_path, smtp={"host": "file.example.cn", "tls": "starttls"})
    from_file = load_config(path, env={})
    assert (from_file.smtp.host, from_file.smtp.port, from_file.smtp.tls) == (
        "file.example.cn", 587, "starttls")
    assert from_file.sms.url == "" and from_file.sms.sign == "萧县12345"
    overridden = load_config(path, env={
        "SUBAN_SMTP_HOST": "mail.xiaoxian.gov.cn", "SUBAN_SMTP_TLS": "ssl",
        "SUBAN_SMTP_USER": "12345", "SUBAN_SMTP_PASSWORD": "pw", "SUBAN_SMS_URL":
        "https://sms.example.cn/send", "SUBAN_SMS_SIGN": "宿州12345", "SUBAN_SMTP_PORT": ""})
    assert (overridden.smtp.host, overridden.smtp.port, overridden.smtp.tls) == (
        "mail.xiaoxian.gov.cn", 465, "ssl")
    assert (overridden.smtp.user, overridden.smtp.password) == ("12345", "pw")
    assert (overridden.sms.url, overridden.sms.sign) == ("https://sms.example.cn/send", "宿州12345")


def test_shipped_templates_load_and_render():
    config = load_config(env={})
    assert set(config.templates) >= {"caller_received", "caller_excluded", "caller_closed",
                                     "unit_dispatched", "unit_reminder", "unit_overdue",
                                     "hotline_alert"}
    from connectors.templates import message_fields, render

    variables = APPEAL | {"scopeReason": "该事项已进入诉讼程序",
                          "scopeReferral": "向萧县人民法院咨询案件进展",
                          "alertReason": "派单超过签收时限无人签收",
                          "mergedInto": "XS20261127-0001"}
    for template in config.templates.values():
        if template.audience == "leader":
            continue  # the duty digest worker fills these: tests/test_duty_digest.py
        fields = message_fields(variables, config.directory, audience=template.audience,
                                unit_id="hotline")
        message = render(template, fields)
        assert "{" not in message.text and "}" not in message.subject
        assert PHONE not in message.text and NAME not in message.text
