"""Label Studio round trip: labeling config, tasks out, annotations back in.

Formats follow Label Studio's documentation: the labeling config uses the
``Text``, ``Header``, ``Choices`` and ``Choice`` tags; a task is
``{"data": {...}, "predictions": [{"model_version", "score", "result"}]}``; an
export is a list of tasks, each with ``annotations`` whose ``result`` items read
``{"from_name", "to_name", "type": "choices", "value": {"choices": [...]}}``.

In the config, the overall sentiment is a required single choice named
``sentiment``; each category is an optional single choice named by its key,
whose options are the polarities: no choice means the category does not apply.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from labels.agreement import AgreementReport, agreement
from labels.annotations import Annotation, AnnotationError, parse_annotation
from labels.errors import LabelSetError
from labels.taxonomy import LabelSet

logger = logging.getLogger(__name__)

TEXT = "text"
SENTIMENT = "sentiment"
TO_DECIDE = "to_decide"  # task field naming the categories a migration left open


class LabelStudioError(ValueError):
    """A task or an export that does not fit the label set."""


def labeling_config(label_set: LabelSet) -> str:
    """The labeling config XML for ``label_set``."""
    clash = sorted({TEXT, SENTIMENT, TO_DECIDE} & set(label_set.keys))
    if clash:
        raise LabelSetError(
            f"expected category keys other than the config's own names, got {clash}"
        )

    view = ET.Element("View")
    ET.SubElement(view, "Text", name=TEXT, value=f"${TEXT}")
    ET.SubElement(view, "Header", value=f"${TO_DECIDE}", size="6")
    _choices(view, SENTIMENT, "整体情感 Overall sentiment", label_set.sentiments, True)
    for category in label_set.categories:
        title = f"{category.zh} {category.en}"
        _choices(view, category.key, title, label_set.polarities, False)
    ET.indent(view)
    return ET.tostring(view, encoding="unicode") + "\n"


def _choices(
    view: ET.Element, name: str, title: str, values: tuple[str, ...], required: bool
) -> None:
    ET.SubElement(view, "Header", value=title, size="5")
    choices = ET.SubElement(
        view,
        "Choices",
        name=name,
        toName=TEXT,
        choice="single",
        showInline="true",
        required="true" if required else "false",
    )
    for value in values:
        ET.SubElement(choices, "Choice", value=value)


def _result(task: int, name: str, value: str) -> dict[str, Any]:
    return {
        "id": f"t{task}-{name}",  # unique per task and control, as required
        "from_name": name,
        "to_name": TEXT,
        "type": "choices",
        "value": {"choices": [value]},
    }


def prediction_of(
    record: dict[str, Any], label_set: LabelSet, comment_id: str
) -> Annotation:
    """A labels line, or a ``pingjia classify`` output record, as an Annotation."""
    categories = record.get("categories", {})
    if isinstance(categories, list):  # classify output: [{"label", "sentiment"}]
        # with --all-scores every category is listed, "present" says which apply
        categories = {
            c["label"]: c["sentiment"] for c in categories if c.get("present", True)
        }
    sentiment = record.get("sentiment")
    if isinstance(sentiment, dict):
        sentiment = sentiment.get("label")
    raw = {
        "id": comment_id,
        "sentiment": sentiment,
        "categories": categories,
        "undecided": [
            u["label"] if isinstance(u, dict) else u
            for u in record.get("undecided", [])
        ],
    }
    try:
        return parse_annotation(raw, label_set, f"prediction for {comment_id!r}")
    except AnnotationError as error:
        raise LabelStudioError(
            f"{error}; predictions must use label set v{label_set.version}: move "
            "them there first, classify output with `pingjia relabel PREDICTIONS "
            f"-o OUT --migrate-to {label_set.version}`, annotation files with "
            "`pingjia labels migrate`"
        ) from error


def _score(record: dict[str, Any]) -> float | None:
    sentiment = record.get("sentiment")
    return sentiment.get("score") if isinstance(sentiment, dict) else None


def export_tasks(
    comments: list[dict[str, Any]],
    label_set: LabelSet,
    predictions: dict[str, dict[str, Any]] | None = None,
    model_version: str = "pingjia",
) -> list[dict[str, Any]]:
    """Label Studio tasks; ``predictions`` (by id) become pre-annotations."""
    tasks = []
    seen: set[str] = set()
    for index, comment in enumerate(comments):
        if not comment.get("id") or not isinstance(comment.get("text"), str):
            raise LabelStudioError(
                f"comment #{index + 1}: expected 'id' and 'text', got fields "
                f"{sorted(comment)!r}"
            )
        if not comment["text"].strip() or comment["id"] in seen:
            # a blank task wastes an annotator; a second one of an id is
            # annotated twice and then written twice by the import
            problem = "an id seen before" if comment["id"] in seen else "a blank text"
            raise LabelStudioError(
                f"comment #{index + 1} ({comment['id']!r}): expected a text to "
                f"annotate under an id of its own, got {problem}; drop that line"
            )
        seen.add(comment["id"])
        # a comment's "check" (why it is queued, e.g. a suspect label) is shown
        # above the choices, with the categories a migration left open
        header = [comment["check"]] if comment.get("check") else []
        task: dict[str, Any] = {"data": {"id": comment["id"], TEXT: comment["text"]}}
        record = (predictions or {}).get(comment["id"])
        if record is not None:
            predicted = prediction_of(record, label_set, comment["id"])
            task["predictions"] = [
                _prediction(index, predicted, _score(record), model_version)
            ]
            if predicted.undecided:
                header.append("请判断 decide: " + ", ".join(predicted.undecided))
        task["data"][TO_DECIDE] = " | ".join(header)
        tasks.append(task)
    return tasks


def _prediction(
    index: int, predicted: Annotation, score: float | None, model_version: str
) -> dict[str, Any]:
    result = [_result(index, SENTIMENT, predicted.sentiment)]
    result += [_result(index, k, p) for k, p in predicted.categories.items()]
    prediction: dict[str, Any] = {"model_version": model_version, "result": result}
    if score is not None:
        prediction["score"] = score
    return prediction


@dataclass(frozen=True)
class Conflict:
    """A task whose annotators disagree; ``differences`` by field."""

    id: str
    annotations: tuple[Annotation, ...]
    differences: dict[str, dict[str, str]]  # field -> annotator -> value ("-": none)

    def describe(self) -> str:
        parts = [
            f"{name} " + " ".join(f"{who}={value}" for who, value in values.items())
            for name, values in self.differences.items()
        ]
        return f"{self.id}: " + "; ".join(parts)


@dataclass
class ImportResult:
    """An export read back: agreed labels, conflicts, and every annotator's."""

    agreed: list[Annotation] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    by_task: dict[str, list[Annotation]] = field(default_factory=dict)
    cancelled: int = 0
    unlabelled: int = 0
    report: AgreementReport | None = None


def _annotator(annotation: dict[str, Any]) -> str:
    # completed_by is a user id; some exports give the user object instead
    who = annotation.get("completed_by")
    who = who.get("id") if isinstance(who, dict) else who
    return f"ls-{who}"


def _read_annotation(
    task_id: str, annotation: dict[str, Any], label_set: LabelSet
) -> Annotation:
    where = f"task {task_id!r}, annotation {annotation.get('id')!r}"
    raw: dict[str, Any] = {"id": task_id, "categories": {}}
    for item in annotation.get("result") or []:
        name = item.get("from_name")
        choices = (item.get("value") or {}).get("choices") or []
        if item.get("type") != "choices" or len(choices) != 1:
            raise LabelStudioError(
                f"{where}: expected results of type 'choices' with one choice, got "
                f"{item.get('type')!r} with {choices!r}; was the project's labeling "
                "config made by `pingjia labels studio config`?"
            )
        if name == SENTIMENT:
            raw["sentiment"] = choices[0]
        else:
            raw["categories"][name] = choices[0]

    try:
        parsed = parse_annotation(raw, label_set, where)
    except AnnotationError as error:
        raise LabelStudioError(str(error)) from error
    return Annotation(
        parsed.id, parsed.sentiment, parsed.categories, _annotator(annotation)
    )


def _differences(annotations: list[Annotation], label_set: LabelSet) -> dict:
    fields: dict[str, dict[str, str]] = {}
    sentiments = {a.annotator: a.sentiment for a in annotations}
    if len(set(sentiments.values())) > 1:
        fields[SENTIMENT] = sentiments
    for key in label_set.keys:
        values = {a.annotator: a.categories.get(key, "-") for a in annotations}
        if len(set(values.values())) > 1:
            fields[key] = values
    return fields


def _settle(
    task_id: str,
    annotations: list[Annotation],
    label_set: LabelSet,
    result: ImportResult,
) -> None:
    differences = _differences(annotations, label_set)
    if differences:
        result.conflicts.append(Conflict(task_id, tuple(annotations), differences))
        return
    who = "+".join(sorted({a.annotator for a in annotations}))
    first = annotations[0]
    result.agreed.append(Annotation(task_id, first.sentiment, first.categories, who))


def _read_task(task: dict[str, Any], label_set: LabelSet, result: ImportResult):
    task_id = (task.get("data") or {}).get("id")
    if not task_id:
        raise LabelStudioError(
            f"task {task.get('id')!r}: expected the comment id in data.id, got "
            "none; import tasks made by `pingjia labels studio tasks`"
        )
    given = task.get("annotations") or []
    kept = [a for a in given if not a.get("was_cancelled")]
    result.cancelled += len(given) - len(kept)
    annotations = [_read_annotation(task_id, a, label_set) for a in kept]
    if not annotations:
        result.unlabelled += 1
        return
    result.by_task.setdefault(task_id, []).extend(annotations)


def read_export(tasks: list[dict[str, Any]], label_set: LabelSet) -> ImportResult:
    """Annotations of a Label Studio JSON export, settled across annotators.

    A task is agreed when all its annotators gave the same labels; otherwise it
    is a conflict, listed with who said what. Cancelled (skipped) annotations are
    left out. Agreement is measured between the first two annotators of each
    task labelled twice or more.
    """
    result = ImportResult()
    if not isinstance(tasks, list):
        raise LabelStudioError(
            f"expected Label Studio's JSON export (a list of tasks), got a "
            f"{type(tasks).__name__}; export the project as JSON"
        )
    for number, task in enumerate(tasks, start=1):
        try:
            _read_task(task, label_set, result)
        except (AttributeError, TypeError) as error:  # not the shape LS writes
            raise LabelStudioError(
                f"task {number}: expected a task as Label Studio exports it "
                "({'data': {'id': ...}, 'annotations': [{'result': [...]}]}), got "
                f"{str(task)[:120]} ({error}); export the project as JSON"
            ) from None
    # a comment in two tasks: the annotators of both are its annotators
    for task_id, given in result.by_task.items():
        _settle(task_id, given, label_set, result)

    twice = [a for a in result.by_task.values() if len(a) >= 2]
    if twice:
        result.report = agreement(
            [a[0] for a in twice], [a[1] for a in twice], label_set
        )
    logger.info(
        "read %d labelled tasks: %d agreed, %d conflicts, %d cancelled annotations",
        len(result.by_task),
        len(result.agreed),
        len(result.conflicts),
        result.cancelled,
    )
    return result
