"""Our Simplified Chinese for the Camunda webapps, checked against the English of the webapp
jar the engine build uses.

Each app (Tasklist, Cockpit, Admin, Welcome) loads only its own `locales/<lang>.json`; ours are
`src/main/resources/META-INF/resources/webjars/camunda/app/<app>/locales/zh.json`, served
before the jar's files. The check (`problems`) is what tests/test_webapp_locales.py asserts;
after a Camunda upgrade

    .venv/bin/python -m deploy.engine.webapp_locales

prints, per app, every English label that has no Chinese text yet (or whose placeholders or
HTML differ), as JSON to translate from.
"""
from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ElementTree
import zipfile
from pathlib import Path

import yaml

ENGINE_PROJECT = Path(__file__).resolve().parent
POM = ENGINE_PROJECT / "pom.xml"
WEBAPP_RESOURCES = ENGINE_PROJECT / "src/main/resources/META-INF/resources/webjars/camunda/app"
GLOSSARY = ENGINE_PROJECT.parent.parent / "forms" / "glossary.yaml"
APPS = ("tasklist", "cockpit", "admin", "welcome")

MAVEN_REPOSITORY = Path.home() / ".m2" / "repository"
WEBJAR_FOLDER = MAVEN_REPOSITORY / "org/camunda/bpm/webapp/camunda-webapp-webjar"

PLACEHOLDER = re.compile(r"\{\{.*?\}\}")
#: The markup the English labels hold (their `<null>` or `<version>` are text, not tags).
HTML_TAG = re.compile(r"</?(?:a|b|br|code|em|i|li|p|span|strong|ul)\b[^>]*>|&[a-z]+;")
CHINESE = re.compile(r"[\u4e00-\u9fff]")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'-]*")

#: Some labels are the English plural ending, which the webapps append to a noun ("instance"
#: + "s"); Chinese marks no plural, so their Chinese text is empty.
ENGLISH_PLURAL_ENDING = "s"


def camunda_version(pom: Path = POM) -> str:
    """`camunda.version` of the engine's pom.xml: the camunda-bom it imports manages the webjar
    at the same version."""
    namespace = {"m": "http://maven.apache.org/POM/4.0.0"}
    version = ElementTree.parse(pom).find("m:properties/m:camunda.version", namespace)
    if version is None or not version.text:
        raise ValueError(f"{pom} sets no <camunda.version>")
    return version.text.strip()


def webapp_jar(version: str | None = None) -> Path:
    """The camunda-webapp-webjar Maven resolved for the build (the engine jar nests the same
    file as BOOT-INF/lib/camunda-webapp-webjar-<version>.jar)."""
    version = version or camunda_version()
    jar = WEBJAR_FOLDER / version / f"camunda-webapp-webjar-{version}.jar"
    if not jar.exists():
        raise FileNotFoundError(f"{jar} is missing: build the engine first (./suban build)")
    return jar


def english_locale(app: str, jar: Path | None = None) -> dict:
    with zipfile.ZipFile(jar or webapp_jar()) as archive:
        raw = archive.read(f"META-INF/resources/webjars/camunda/app/{app}/locales/en.json")
    return json.loads(raw.decode("utf-8-sig"))  # the shipped files start with a BOM


def chinese_locale_file(app: str) -> Path:
    return WEBAPP_RESOURCES / app / "locales" / "zh.json"


def chinese_locale(app: str) -> dict:
    return json.loads(chinese_locale_file(app).read_text(encoding="utf-8"))


def load_glossary(path: Path = GLOSSARY) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _markup(text: str) -> list[str]:
    return sorted(HTML_TAG.findall(text))


def _needs_chinese(english: str, keep_in_latin: set[str]) -> bool:
    """Whether the English says something in words: formats, symbols and names such as
    "JSON" or "<=" stay as they are."""
    prose = HTML_TAG.sub(" ", PLACEHOLDER.sub(" ", english))
    return any(word not in keep_in_latin for word in LATIN_WORD.findall(prose))


def _glossary_rules(glossary: dict) -> list[tuple[re.Pattern, str, tuple[str, ...]]]:
    rules = []
    for term in glossary["terms"]:
        if term["en"]:
            words = "|".join(re.escape(word) for word in term["en"])
            pattern = re.compile(rf"(?<![\w-])(?:{words})(?![\w-])", re.IGNORECASE)
        else:
            pattern = None
        rules.append((pattern, term["zh"], tuple(term["forbidden"])))
    return rules


def label_problems(key: str, english: str, chinese: str | None, glossary: dict) -> list[str]:
    """What is wrong with one Chinese label (nothing: an empty list)."""
    if chinese is None:
        return [f"{key}: no Chinese text for {english!r}"]
    problems = []
    if sorted(PLACEHOLDER.findall(english)) != sorted(PLACEHOLDER.findall(chinese)):
        problems.append(f"{key}: placeholders {PLACEHOLDER.findall(english)} in English, "
                        f"{PLACEHOLDER.findall(chinese)} in {chinese!r}")
    if _markup(english) != _markup(chinese):
        problems.append(f"{key}: HTML {_markup(english)} in English, {_markup(chinese)} in "
                        f"{chinese!r}")
    if english == ENGLISH_PLURAL_ENDING and not chinese:
        return problems
    if _needs_chinese(english, set(glossary["keep_in_latin"])) and not CHINESE.search(chinese):
        problems.append(f"{key}: {chinese!r} is no Chinese text for {english!r}")
    for pattern, term, forbidden in _glossary_rules(glossary):
        if pattern and pattern.search(english) and term not in chinese:
            problems.append(f"{key}: {english!r} names a glossary term, but {chinese!r} "
                            f"lacks its Chinese {term!r}")
        problems += [f"{key}: {chinese!r} uses {word!r}, which the glossary forbids "
                     f"(the term is {term!r})" for word in forbidden if word in chinese]
    return problems


def problems(app: str, jar: Path | None = None, glossary: dict | None = None) -> list[str]:
    """Every English label of `app` in the jar against our zh.json: one line per problem."""
    glossary = glossary or load_glossary()
    english = english_locale(app, jar)["labels"]
    chinese = chinese_locale(app)
    found = [f"{key}: in zh.json, not in the jar's en.json (left from an older version?)"
             for key in chinese["labels"].keys() - english.keys()]
    for key, text in english.items():
        found += label_problems(key, text, chinese["labels"].get(key), glossary)
    return found


def untranslated(app: str, jar: Path | None = None, glossary: dict | None = None) -> dict:
    """The English labels of `app` whose Chinese text is missing or fails a check."""
    glossary = glossary or load_glossary()
    english = english_locale(app, jar)["labels"]
    chinese = chinese_locale(app)["labels"]
    return {key: text for key, text in english.items()
            if label_problems(key, text, chinese.get(key), glossary)}


def main() -> int:
    report = {app: untranslated(app) for app in APPS}
    json.dump(report, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 1 if any(report.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
