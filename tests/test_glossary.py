"""The glossary (forms/glossary.yaml) and our forms: the forms use the county's words, never a
synonym the glossary forbids. The webapps' Chinese is held to it by test_webapp_locales.py."""
import json

import yaml

from admin_data.environment import REPO_ROOT

GLOSSARY = REPO_ROOT / "forms" / "glossary.yaml"
FORMS = sorted((REPO_ROOT / "forms").glob("*.form"))


def load_glossary() -> dict:
    return yaml.safe_load(GLOSSARY.read_text(encoding="utf-8"))


def form_texts(component) -> list[str]:
    """Everything of a form a user reads: labels, descriptions, texts, option labels."""
    if isinstance(component, list):
        return [text for item in component for text in form_texts(item)]
    if not isinstance(component, dict):
        return []
    texts = [component[key] for key in ("label", "description", "text", "placeholder")
             if isinstance(component.get(key), str)]
    return texts + [text for value in component.values() for text in form_texts(value)]


def test_glossary_names_each_word_once_and_forbids_none_of_its_own_words():
    terms = load_glossary()["terms"]
    chosen = [term["zh"] for term in terms]
    assert len(chosen) == len(set(chosen)), GLOSSARY
    forbidden = {word for term in terms for word in term["forbidden"]}
    assert not [word for word in chosen if word in forbidden]
    english = [word.lower() for term in terms for word in term["en"]]
    assert len(english) == len(set(english))


def test_forms_use_no_word_the_glossary_forbids():
    terms = load_glossary()["terms"]
    assert FORMS
    found = []
    for form in FORMS:
        for text in form_texts(json.loads(form.read_text(encoding="utf-8"))):
            found += [f"{form.name}: {text!r} says {word!r}, the glossary's word is "
                      f"{term['zh']!r}" for term in terms for word in term["forbidden"]
                      if word in text]
    assert found == []


def test_forms_use_the_words_of_our_process_as_the_glossary_spells_them():
    """The glossary's words of our own process (those without an English webapp word) all
    occur in the forms: the glossary lists words in use, not wishes."""
    texts = " ".join(text for form in FORMS
                     for text in form_texts(json.loads(form.read_text(encoding="utf-8"))))
    ours = [term["zh"] for term in load_glossary()["terms"] if not term["en"]]
    assert ours
    assert [word for word in ours if word not in texts] == []
