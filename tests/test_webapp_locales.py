"""Our Chinese for the Camunda webapps against the English of the webapp jar the engine build
uses: every label has a Chinese text with the same placeholders and HTML, in the glossary's
words. A Camunda upgrade that adds or changes labels fails here until they are translated
(`python -m deploy.engine.webapp_locales` lists them)."""
import zipfile

import pytest

from deploy.engine import webapp_locales
from admin_data.environment import Settings
from deploy.stack import build_engine


@pytest.fixture(scope="module")
def jar():
    return webapp_locales.webapp_jar()


@pytest.mark.parametrize("app", webapp_locales.APPS)
def test_every_english_label_has_its_chinese_text(app, jar):
    assert webapp_locales.problems(app, jar) == []


def test_the_jar_is_the_one_the_engine_build_nests(jar):
    """The pom's camunda.version names the webjar; the built engine jar carries that very
    file, and our zh.json files beside it."""
    if Settings.from_env().engine != "camunda":
        pytest.skip("the webapps' Chinese is made for the Camunda webjar (SUBAN_ENGINE=operaton)")
    engine_jar = build_engine("camunda")  # rebuilt only when its sources are newer
    with zipfile.ZipFile(engine_jar) as built:
        names = set(built.namelist())
        assert f"BOOT-INF/lib/{jar.name}" in names
        assert built.read(f"BOOT-INF/lib/{jar.name}") == jar.read_bytes()
        for app in webapp_locales.APPS:
            # Spring Boot's repackaging keeps the application's META-INF at the jar's root.
            shipped = built.read(f"META-INF/resources/webjars/camunda/app/{app}/locales/zh.json")
            assert shipped == webapp_locales.chinese_locale_file(app).read_bytes()


def test_the_check_catches_what_an_upgrade_would_bring():
    glossary = webapp_locales.load_glossary()
    check = webapp_locales.label_problems
    assert check("NEW_KEY", "New label", None, glossary)
    assert check("K", "Hello {{name}}", "你好 {{user}}", glossary)
    assert check("K", "See <a href=\"#/x\">here</a>", "见此处", glossary)
    assert check("K", "Claim", "Claim", glossary)
    assert check("K", "Claim the task", "签收任务", glossary)  # 认领 is the glossary's word
    assert check("K", "Log in", "登陆", glossary)            # a forbidden misspelling
    assert check("K", "Claim the task", "认领任务", glossary) == []
    assert check("K", "JSON", "JSON", glossary) == []
