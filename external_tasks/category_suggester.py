"""分类建议: the taxonomy leaves an appeal most likely belongs to, suggested while the caller talks.

A text classifier (scikit-learn): TF-IDF of character 1–3-grams beside TF-IDF of jieba's words
(both need no download: jieba's dictionary is inside its package), and a linear support vector
machine, which beat a logistic regression and naive Bayes on real messages; its scores, through a
softmax, are the confidences shown. The words add what characters miss (物业费 is one matter, not
物业 + 费); on the real messages of `bench/category_suggester.py` they raised the cross-validated
top-1 accuracy by about 2 points, and so did letting unlabelled texts into the vocabulary (their
inverse document frequencies). It learns from the county's own closed appeals, labelled with the
category they were finally dispatched under (the centre's correction included: the root
process's last `categoryCode`), and from the `keywords` and `examples` of each leaf in
taxonomy.yaml, so a new install with no closed appeal suggests sensibly from day one.
Optionally, unlabelled texts refine it by self-training: texts the model is already sure of are
added with the label it gave them.

`suban suggest train` (and `suban up`, when there is no usable model yet) writes a new model file
in `<data dir>/suggester/`, named by its training time and number of examples; the nightly
`bpmn/hotline_suggester_retrain.bpmn` trains again when the model is due
(`external_tasks/suggester_retrain.py`). The newest file that loads is used, read again as soon
as a newer one appears. A missing, unreadable or out-of-date model never fails an intake:
suggestions then come from the keywords alone, and a warning says why (once per cause).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import pickle
import re
import threading
import typing
import warnings
from pathlib import Path

import numpy as np
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

from admin_data.environment import Settings
from admin_data.taxonomy import TAXONOMY, Taxonomy
from external_tasks import appeal
from external_tasks.camunda import EngineClient

log = logging.getLogger(__name__)

MODEL_FOLDER = "suggester"
MODEL_PATTERN = re.compile(r"^category-model-(\d{8}T\d{6}Z)-(\d+)\.pkl$")
MODEL_FORMAT = 2  # 2: character n-grams and jieba's words
KEPT_MODELS = 5          # older model files are removed after a training
TEXT_LIMIT = 2000        # characters of an appeal read: enough for the matter, bounded in time
SELF_TRAINING_CONFIDENCE = 0.6
#: Turns the machine's margins (about -1 … 1) into confidences that sum to 1 over the leaves.
SOFTMAX_SCALE = 4.0


@dataclasses.dataclass(frozen=True)
class Example:
    text: str
    label: str


def appeal_text(title: str | None, content: str | None) -> str:
    """The text a model reads: the title twice (it names the matter most densely), then the
    content, whitespace removed (Chinese needs none, and callers' texts are full of it)."""
    text = f"{title or ''}。{title or ''}。{content or ''}"
    return re.sub(r"\s+", "", text)[:TEXT_LIMIT]


# -- the classifier ------------------------------------------------------------------------------

@functools.cache
def _segmenter():
    """jieba, imported on first use: its tables take seconds to load on a busy machine, which
    the console's start need not wait for."""
    import jieba

    jieba.setLogLevel(logging.WARNING)  # it logs loading its dictionary at DEBUG, to stderr
    return jieba


def words(text: str) -> list[str]:
    """jieba's words of a text: the analyzer of the word features (a module function, so that a
    model file refers to it by name)."""
    return _segmenter().lcut(text)


def text_features() -> FeatureUnion:
    """TF-IDF of character 1–3-grams and of words, side by side."""
    return FeatureUnion([
        ("characters", TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True,
                                       max_features=200_000, dtype=np.float32)),
        ("words", TfidfVectorizer(analyzer=words, sublinear_tf=True, dtype=np.float32))])


class TextClassifier:
    """Character n-gram and word TF-IDF and a linear SVM over any set of labels."""

    def __init__(self, vectorizer: FeatureUnion, model: LinearSVC):
        self.vectorizer = vectorizer
        self.model = model

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(str(label) for label in self.model.classes_)

    @classmethod
    def fit(cls, examples: typing.Sequence[Example], unlabelled: typing.Sequence[str] = (),
            self_training_rounds: int = 0) -> "TextClassifier":
        """Learn the examples; the unlabelled texts join the vocabulary and, with
        `self_training_rounds`, the examples, labelled as the classifier is sure of them."""
        if len({example.label for example in examples}) < 2:
            raise ValueError("训练分类建议至少需要两个分类的样本")
        vectorizer = text_features()
        vectorizer.fit([example.text for example in examples] + list(unlabelled))
        classifier = cls(vectorizer, cls._machine(examples, vectorizer, ()))
        for _ in range(self_training_rounds if unlabelled else 0):
            classifier.model = cls._machine(examples, vectorizer, classifier.confident(unlabelled))
        return classifier

    @staticmethod
    def _machine(examples: typing.Sequence[Example], vectorizer: FeatureUnion,
                 extra: typing.Sequence[Example]) -> LinearSVC:
        everything = list(examples) + list(extra)
        model = LinearSVC(C=1.5)  # characters only: 0.2: 81.6 %, 0.5: 84.4 %, 1.5: 85.2 %, 4: 85.0 %
        model.fit(vectorizer.transform([example.text for example in everything]),
                  [example.label for example in everything])
        return model

    def confident(self, texts: typing.Sequence[str],
                  threshold: float = SELF_TRAINING_CONFIDENCE) -> list[Example]:
        """The texts this classifier is sure of, labelled as it labels them."""
        probabilities = self.probabilities(texts)
        best = probabilities.argmax(axis=1)
        labels = self.labels  # built from the model's classes at each access: once per call
        return [Example(text, labels[label]) for text, label, row in
                zip(texts, best, probabilities) if row[label] >= threshold]

    def probabilities(self, texts: typing.Sequence[str]) -> np.ndarray:
        """One row per text, one column per label, each row summing to 1."""
        margins = self.model.decision_function(self.vectorizer.transform(texts))
        if margins.ndim == 1:  # two labels: one margin, for the second
            margins = np.stack([-margins, margins], axis=1)
        exponentials = np.exp(SOFTMAX_SCALE * (margins - margins.max(axis=1, keepdims=True)))
        return exponentials / exponentials.sum(axis=1, keepdims=True)

    def ranked(self, text: str) -> list[tuple[str, float]]:
        """Every label with its probability, most likely first."""
        row = self.probabilities([text])[0]
        labels = self.labels  # once, not once per label: it was a third of a suggestion's time
        return [(labels[index], float(row[index])) for index in np.argsort(-row)]


# -- what it learns from -----------------------------------------------------------------------

def taxonomy_examples(taxonomy: Taxonomy) -> list[Example]:
    """Each leaf's name, keywords and examples, as short labelled texts."""
    return [Example(re.sub(r"\s+", "", text), leaf.code) for leaf in taxonomy.leaves
            for text in (leaf.name, *leaf.keywords, *leaf.examples)]


def closed_appeal_examples(engine: EngineClient, taxonomy: Taxonomy,
                           page_size: int = 500) -> list[Example]:
    """The closed appeals with a category still in the taxonomy, by their final category."""
    examples = []
    first = 0
    while roots := engine.post(
            f"/history/process-instance?firstResult={first}&maxResults={page_size}",
            {"processDefinitionKey": appeal.APPEAL_PROCESS, "finished": True,
             "sorting": [{"sortBy": "instanceId", "sortOrder": "asc"}]}):
        first += len(roots)
        values = appeal.variables_by_instance(engine, [root["id"] for root in roots],
                                              ("title", "content", "categoryCode"))
        examples += [Example(appeal_text(v.get("title"), v.get("content")), v["categoryCode"])
                     for v in values.values() if taxonomy.leaf(v.get("categoryCode"))
                     and (v.get("title") or v.get("content"))]
    return examples


# -- model files ---------------------------------------------------------------------------------

class ModelUnavailable(Exception):
    """No model can be used; the message says why, in Chinese, for the warning."""


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    path: Path
    trained_at: dt.datetime
    examples: int
    from_appeals: int
    library: str


def model_folder(settings: Settings | None = None) -> Path:
    return (settings or Settings.from_env()).data_dir / MODEL_FOLDER


def category_model_files(folder: Path) -> list[Path]:
    """The model files of the folder, newest first."""
    if not folder.is_dir():
        return []
    return sorted((path for path in folder.iterdir() if MODEL_PATTERN.match(path.name)),
                  key=lambda path: MODEL_PATTERN.match(path.name).group(1), reverse=True)


def save_model(folder: Path, classifier: TextClassifier, examples: int, from_appeals: int,
               now: dt.datetime | None = None) -> ModelInfo:
    """Write a new model version, then drop the oldest beyond KEPT_MODELS. Written to a
    temporary name and renamed, so a reader never sees half a file."""
    trained_at = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"category-model-{trained_at:%Y%m%dT%H%M%SZ}-{examples}.pkl"
    info = ModelInfo(path, trained_at, examples, from_appeals, sklearn.__version__)
    temporary = path.with_suffix(".tmp")
    with temporary.open("wb") as file:
        pickle.dump({"format": MODEL_FORMAT, "info": dataclasses.asdict(info) | {"path": None},
                     "classifier": classifier}, file)
    temporary.replace(path)
    for old in category_model_files(folder)[KEPT_MODELS:]:
        old.unlink()
    return info


def load_model(path: Path) -> tuple[TextClassifier, ModelInfo]:
    """Read a model file we wrote ourselves (pickle: the data folder is suban's own)."""
    try:
        with path.open("rb") as file, warnings.catch_warnings():
            # scikit-learn warns of a model from another version: checked below, in Chinese
            warnings.simplefilter("ignore")
            stored = pickle.load(file)
        info = ModelInfo(**(stored["info"] | {"path": path}))
        classifier = stored["classifier"]
    except Exception as exc:  # a truncated or foreign file fails in many ways
        raise ModelUnavailable(f"分类建议模型 {path.name} 无法读取（{type(exc).__name__}）") from None
    if stored.get("format") != MODEL_FORMAT or info.library != sklearn.__version__:
        raise ModelUnavailable(f"分类建议模型 {path.name} 由 scikit-learn {info.library} 训练，"
                               f"当前是 {sklearn.__version__}")
    return classifier, info


def train(engine: EngineClient | None, settings: Settings | None = None,
          taxonomy: Taxonomy | None = None) -> ModelInfo:
    """Learn from the taxonomy's keywords and examples and, with an engine, the closed appeals;
    write the new model version."""
    taxonomy = taxonomy or TAXONOMY.current()
    from_appeals = closed_appeal_examples(engine, taxonomy) if engine else []
    examples = taxonomy_examples(taxonomy) + from_appeals
    return save_model(model_folder(settings), TextClassifier.fit(examples),
                      len(examples), len(from_appeals))


# -- suggesting ----------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Suggestions:
    categories: list[tuple[str, float]]  # (leaf code, confidence 0–1), most likely first
    model: ModelInfo | None              # None: keyword suggestions
    warning: str | None                  # why the model was not used


def keyword_suggestions(text: str, taxonomy: Taxonomy, top: int) -> list[tuple[str, float]]:
    """Leaves whose keywords or name the text contains, longer matches weighing more."""
    scores = {}
    for leaf in taxonomy.leaves:
        score = sum(len(word) for word in (leaf.name, *leaf.keywords) if word in text)
        if score:
            scores[leaf.code] = score
    total = sum(scores.values())
    ranked = sorted(scores.items(), key=lambda item: -item[1])[:top]
    return [(code, round(score / total, 3)) for code, score in ranked]


class _Loaded:
    """The newest usable model of a folder, read again when the folder's model files change: a
    newer file that does not load leaves the one before it in use. Each reason to skip a file or
    to fall back to keywords is logged once."""

    def __init__(self):
        self.lock = threading.Lock()
        self.held: dict[Path, tuple[tuple[Path, ...], TextClassifier | None, ModelInfo | None,
                                    str | None]] = {}

    def get(self, folder: Path) -> tuple[TextClassifier | None, ModelInfo | None, str | None]:
        files = tuple(category_model_files(folder))
        with self.lock:
            held = self.held.get(folder)
            if held and held[0] == files:
                return held[1:]
            classifier = info = None
            skipped = []
            for path in files:
                try:
                    classifier, info = load_model(path)
                    break
                except ModelUnavailable as exc:
                    skipped.append(str(exc))
            warning = None
            if info is None:
                warning = "；".join(skipped or ["还没有分类建议模型（请运行 suban suggest train）"]) \
                    + "；暂按关键词给出分类建议"
                log.warning(warning)
            elif skipped:
                log.warning("%s；使用上一个模型 %s", "；".join(skipped), info.path.name)
            self.held[folder] = (files, classifier, info, warning)
            return classifier, info, warning


_LOADED = _Loaded()


def newest_usable_model(folder: Path) -> ModelInfo | None:
    """The newest model of the folder that loads (None: none does)."""
    return _LOADED.get(folder)[1]


def suggest(title: str | None, content: str | None, top: int = 3,
            folder: Path | None = None) -> Suggestions:
    taxonomy = TAXONOMY.current()
    text = appeal_text(title, content)
    classifier, info, warning = _LOADED.get(folder or model_folder())
    if classifier is not None:
        try:
            ranked = classifier.ranked(text)
        except Exception as exc:  # a model that loads but cannot score must not stop an intake
            warning = f"分类建议模型 {info.path.name} 出错（{type(exc).__name__}）；暂按关键词给出分类建议"
            log.warning(warning)
        else:
            leaves = {leaf.code for leaf in taxonomy.leaves}  # a leaf removed since training: never
            return Suggestions([(code, round(confidence, 3)) for code, confidence in ranked
                                if code in leaves][:top], info, None)
    return Suggestions(keyword_suggestions(text, taxonomy, top), None, warning)


def suggest_categories(title: str | None, content: str | None,
                       top: int = 3) -> list[tuple[str, float]]:
    """The `top` most likely taxonomy leaves of an appeal, as (leaf code, confidence)."""
    return suggest(title, content, top).categories
