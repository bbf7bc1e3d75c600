"""Accuracy of the category suggester on real citizen messages (2020 TipDM Cup C, read in place
from ../shared/data/tipdm2020c, never copied into the project).

    .venv/bin/python bench/category_suggester.py [--folds 5] [--data DIR] [--all]

The labelled messages carry only a top-level class (7 of the tree's 15), so two figures:

* day one: the model `suban suggest train` builds from taxonomy.yaml alone (no appeal yet),
  each class scored as its most likely leaf (by the leaf's `reference_categories`): how a new
  install does on these messages;
* trained: the same classifier, cross-validated on the labelled messages with the top-level
  class as label, learning also from what the recipe adds (`--all` runs every recipe tried:
  the tree's level-2/3 names, our leaves' keywords and examples, the unlabelled messages
  labelled by the units their official reply names, self-training on unlabelled messages).

Prints top-1 and top-3 accuracy of the top-level class, a confusion table and the time of one
suggestion (p50/p95).

Measured in December 2026 (494 messages, 5 folds, on a loaded 2-core machine). Character
n-grams alone: day one top-1 74.9 %, top-3 91.7 %; trained top-1 85.2 %, top-3 99.0 %. With
jieba's words beside the characters and the unlabelled messages' texts in the vocabulary (the
first recipe, what `suban suggest train` builds): day one top-1 73.5 %, top-3 91.9 %; trained
top-1 88.1 %, top-3 99.2 %, most errors 商贸旅游 → 城乡建设. Words alone: 83.6 %; words without
the unlabelled vocabulary: 85.6 %. What did not help (top-1): labelling unlabelled messages by
the units their reply names (73.7 %), self-training on the unlabelled messages (81–82 % at
confidence 0.6–0.8; many of them belong to none of the 7 classes), character 1–4-grams (84.4 %),
another C of the SVM (0.5: 86.2–87.2 %, 4: 87.7 %, within the folds' noise of about ±1 point).
One suggestion (the day-one model): characters only p50 8.0 ms, p95 17.9 ms on a quiet machine;
with words p50 77 ms, p95 169 ms at a load average of 25, and p50 3.0 ms, p95 8.1 ms at a load
average of 2 once the labels were built once per suggestion instead of once per label.
The goal (92 % top-1 on ~900 held-out messages) is not reached.
"""
from __future__ import annotations

import argparse
import collections
import csv
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from admin_data.environment import REPO_ROOT  # noqa: E402
from admin_data.taxonomy import TAXONOMY  # noqa: E402
from bench.worker_throughput import percentile  # noqa: E402
from external_tasks.category_suggester import (  # noqa: E402
    Example, TextClassifier, appeal_text, taxonomy_examples)

DATA = REPO_ROOT.parent / "shared" / "data" / "tipdm2020c"

#: Units an official reply names (A市's, anonymised like the data), and the class they handle.
REPLY_UNITS = {
    "教育文体": ("教育局", "教育厅", "教体局", "文旅局", "文化旅游", "体育局"),
    "劳动和社会保障": ("人力资源和社会保障", "人社局", "人社厅", "社保局", "社会保险", "劳动保障监察", "医保局", "医疗保障"),
    "卫生计生": ("卫生健康", "卫健委", "卫计委", "卫生计生", "疾控中心", "卫生局"),
    "交通运输": ("交通运输局", "交通局", "交通运输厅", "公交集团", "运管处", "客运"),
    "环境保护": ("生态环境", "环保局", "环境保护局", "环境监察"),
    "城乡建设": ("住房和城乡建设", "住建局", "城管", "城市管理", "自然资源和规划", "规划局", "住房保障", "不动产登记"),
    "商贸旅游": ("商务局", "市场监督管理", "市场监管", "工商局", "旅游局", "商务厅"),
}


def read(name: str, folder: Path) -> list[dict]:
    with (folder / name).open(encoding="utf-8") as file:
        return list(csv.DictReader(file))


def reply_label(reply: str) -> str | None:
    """The one class whose units the reply names, or None (no unit, or units of several)."""
    named = {label for label, units in REPLY_UNITS.items() if any(unit in reply for unit in units)}
    return named.pop() if len(named) == 1 else None


def leaf_references(classes: list[str]) -> dict[str, list[str]]:
    """Each leaf's category's reference_categories among these classes."""
    return {leaf.code: [c for c in category.reference_categories if c in classes]
            for category in TAXONOMY.current().categories for leaf in category.leaves}


def tree_priors(classes: list[str], tree: list[dict]) -> list[Example]:
    """The tree's level-2/3 names under each class."""
    return [Example(row[level], row["level1"]) for row in tree if row["level1"] in classes
            for level in ("level2", "level3") if row[level] != "其他"]


def taxonomy_priors(classes: list[str]) -> list[Example]:
    """Our leaves' names, keywords and examples, where the leaf's category maps to exactly one
    of the classes."""
    references = leaf_references(classes)
    return [Example(example.text, references[example.label][0])
            for example in taxonomy_examples(TAXONOMY.current())
            if len(references[example.label]) == 1]


def class_scores(classifier: TextClassifier, texts: list[str], classes: list[str]) -> np.ndarray:
    """Each class scores as its most likely leaf (a leaf counts for every class its category
    references): summing would favour the classes our taxonomy splits into many leaves."""
    references = leaf_references(classes)
    leaf_probabilities = classifier.probabilities(texts)
    scores = np.zeros((len(texts), len(classes)))
    for column, code in enumerate(classifier.labels):
        for target in references[code]:
            index = classes.index(target)
            scores[:, index] = np.maximum(scores[:, index], leaf_probabilities[:, column])
    return scores


def report(title: str, gold: list[str], scores: np.ndarray, classes: list[str]) -> None:
    order = np.argsort(-scores, axis=1)
    top1 = np.mean([classes[row[0]] == label for row, label in zip(order, gold)])
    top3 = np.mean([label in {classes[i] for i in row[:3]} for row, label in zip(order, gold)])
    print(f"\n{title}: top-1 {top1:.1%}, top-3 {top3:.1%} of {len(gold)} messages")
    confusion = collections.Counter((label, classes[row[0]]) for row, label in zip(order, gold))
    width = max(len(c) for c in classes) + 2
    print("gold \\ suggested".ljust(width * 2) + "".join(c[:4].rjust(6) for c in classes))
    for label in classes:
        print(label.ljust(width * 2) + "".join(str(confusion[(label, c)]).rjust(6) for c in classes))


def day_one(messages: list[dict], classes: list[str]) -> TextClassifier:
    classifier = TextClassifier.fit(taxonomy_examples(TAXONOMY.current()))
    texts = [appeal_text(m["title"], m["detail"]) for m in messages]
    report("day one (taxonomy keywords and examples only)", [m["category"] for m in messages],
           class_scores(classifier, texts, classes), classes)
    return classifier


@dataclasses.dataclass(frozen=True)
class Recipe:
    """What the classifier learns from besides the labelled messages of the training folds."""
    name: str
    tree: bool = False
    taxonomy: bool = False
    replies: bool = False
    vocabulary: bool = False  # the unlabelled messages' texts (never a label) in the TF-IDF vocabulary
    self_training: bool = False


#: The best recipe first (the one `suban suggest train` follows: taxonomy.yaml's words and the
#: appeals), then what else was tried. The replies and self-training added more wrong labels than
#: right ones here: many unlabelled messages belong to none of the 7 classes.
RECIPES = (
    Recipe("labelled + tree names + our leaves' words + unlabelled texts in the vocabulary",
           tree=True, taxonomy=True, vocabulary=True),
    Recipe("labelled + tree names + our leaves' keywords and examples", tree=True, taxonomy=True),
    Recipe("labelled messages only"),
    Recipe("labelled + the tree's level-2/3 names", tree=True),
    Recipe("labelled + unlabelled messages labelled by the units their reply names", replies=True),
    Recipe("labelled + tree + taxonomy + self-training on the unlabelled messages",
           tree=True, taxonomy=True, self_training=True),
    Recipe("everything: tree, taxonomy, replies, self-training", True, True, True, True, True),
)


def cross_validated(recipe: Recipe, messages: list[dict], unlabelled: list[dict],
                    tree: list[dict], classes: list[str], folds: int) -> None:
    texts = [appeal_text(m["title"], m["detail"]) for m in messages]
    gold = np.array([m["category"] for m in messages])
    extra = ((tree_priors(classes, tree) if recipe.tree else [])
             + (taxonomy_priors(classes) if recipe.taxonomy else []))
    by_reply = {index: label for index, m in enumerate(unlabelled) if (label := reply_label(m["reply"]))}
    if recipe.replies:
        extra += [Example(appeal_text(m["title"], m["detail"]), by_reply[index])
                  for index, m in enumerate(unlabelled) if index in by_reply]
    rest = [appeal_text(m["title"], m["detail"]) for index, m in enumerate(unlabelled)
            if not (recipe.replies and index in by_reply)]
    scores = np.zeros((len(texts), len(classes)))
    splitter = StratifiedKFold(folds, shuffle=True, random_state=0)
    for train_rows, test_rows in splitter.split(texts, gold):
        examples = [Example(texts[i], gold[i]) for i in train_rows] + extra
        classifier = TextClassifier.fit(examples, rest if recipe.vocabulary or recipe.self_training
                                        else (), self_training_rounds=int(recipe.self_training))
        probabilities = classifier.probabilities([texts[i] for i in test_rows])
        for column, label in enumerate(classifier.labels):
            scores[test_rows, classes.index(label)] = probabilities[:, column]
    report(f"{folds}-fold cross-validated, {recipe.name} ({len(extra)} extra examples)",
           list(gold), scores, classes)


def timing(classifier: TextClassifier, messages: list[dict]) -> None:
    seconds = []
    for message in messages[:300]:
        start = time.perf_counter()
        classifier.ranked(appeal_text(message["title"], message["detail"]))
        seconds.append(time.perf_counter() - start)
    print(f"\none suggestion: p50 {percentile(seconds, 0.5) * 1000:.1f} ms, "
          f"p95 {percentile(seconds, 0.95) * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--all", action="store_true", help="every recipe tried, not only the best")
    args = parser.parse_args()
    if not args.data.is_dir():
        sys.exit(f"TipDM messages not found at {args.data}")
    messages = read("sample_messages.csv", args.data)
    unlabelled = read("messages_with_replies.csv", args.data)
    tree = read("taxonomy.csv", args.data)
    classes = sorted({m["category"] for m in messages})
    classifier = day_one(messages, classes)
    for recipe in RECIPES if args.all else RECIPES[:1]:
        cross_validated(recipe, messages, unlabelled, tree, classes, args.folds)
    timing(classifier, messages)


if __name__ == "__main__":
    main()
