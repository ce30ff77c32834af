"""Database glue for the classifier: the active model, the keyword rules, training and evaluation.

`suggest(text)` is what the work-order services call. The active ClassifierModel and the active
KeywordRules are cached per process; the cache asks the database for a newer model or changed rules
at most every CHECK_SECONDS (rule edits in this process invalidate it at once through signals).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path

from django.db import transaction
from django.db.models import Count, Max
from django.db.models.signals import post_delete, post_save

from linli.cases.classifier.model import Model, Suggestion, top_level, train
from linli.cases.models import ClassifierModel, KeywordRule, WorkOrder
from linli.cases.workflow import HANDLED

DATA_DIR = Path(__file__).resolve().parent / "data"
CHECK_SECONDS = 60.0
KEEP_MODELS = 5
CORRECTED_WEIGHT = 3.0
# Retraining reads at most this many of the most recently handled cases (pure-Python training
# handles a few hundred thousand texts in minutes; the newest cases say most about today's wording).
MAX_CASES = 200_000


_lock = threading.Lock()
_state: dict = {"model_id": None, "model": None, "model_checked": 0.0, "rules": None, "rules_sig": None}


def load_samples(name: str) -> list[tuple[str, str, float]]:
    """The shipped corpus `data/<name>*.jsonl` (every author's file: train.jsonl, train2.jsonl …)
    as (text, leaf code, 1.0) samples."""
    out = []
    for path in sorted(DATA_DIR.glob(f"{name}*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    row = json.loads(line)
                    out.append((row["text"], row["code"], 1.0))
    return out


@cache
def shipped_model() -> Model:
    """The model trained on the shipped corpus only (deterministic, so trained once per process)."""
    return train(load_samples("train"))


@cache
def shipped_figures() -> dict:
    figures = evaluate(shipped_model(), load_samples("heldout"))
    figures["samples"] = len(load_samples("train"))
    return figures


def reset_cache() -> None:
    """Forget the cached model and rules (tests; a process that knows the database changed)."""
    with _lock:
        _state.update(model_id=None, model=None, model_checked=0.0, rules=None, rules_sig=None, rules_checked=0.0)


def _invalidate_rules(**kwargs) -> None:
    _state["rules_sig"] = None
    _state["rules"] = None


post_save.connect(_invalidate_rules, sender=KeywordRule, dispatch_uid="classifier-rules-save")
post_delete.connect(_invalidate_rules, sender=KeywordRule, dispatch_uid="classifier-rules-delete")


def active_model() -> Model:
    """The newest active model; trains and saves one from the shipped corpus if there is none."""
    now = time.monotonic()
    if _state["model"] is not None and now - _state["model_checked"] < CHECK_SECONDS:
        return _state["model"]
    with _lock:
        row_id = ClassifierModel.objects.filter(active=True).order_by("-created_at", "-pk").values_list("pk", flat=True)
        newest = row_id.first()
        if newest is None:
            model = shipped_model()
            figures = shipped_figures()
            with transaction.atomic():  # a savepoint: a failure here cannot poison the caller's transaction
                row = ClassifierModel.objects.create(
                    data=model.to_json(),
                    samples=figures["samples"],
                    heldout_top=figures["top"],
                    heldout_second=figures["leaf"],
                    active=True,
                )
            _state.update(model_id=row.pk, model=model)
        elif newest != _state["model_id"]:
            data = ClassifierModel.objects.values_list("data", flat=True).get(pk=newest)
            _state.update(model_id=newest, model=Model.from_json(data))
        _state["model_checked"] = now
        return _state["model"]


def active_rules() -> list[tuple[str, str, float]]:
    """Active keyword rules as (keyword, leaf code, weight), reloaded when they change."""
    now = time.monotonic()
    sig_checked = _state.get("rules_checked", 0.0)
    if _state["rules"] is not None and now - sig_checked < CHECK_SECONDS:
        return _state["rules"]
    agg = KeywordRule.objects.filter(active=True).aggregate(n=Count("pk"), last=Max("updated_at"))
    sig = (agg["n"], agg["last"])
    if _state["rules"] is None or sig != _state["rules_sig"]:
        rules = list(
            KeywordRule.objects.filter(active=True, category__active=True).values_list(
                "keyword", "category__code", "weight"
            )
        )
        _state.update(rules=rules, rules_sig=sig)
    _state["rules_checked"] = now
    return _state["rules"]


def suggest(text: str) -> Suggestion:
    """The suggested category for a report's text, with its confidence and the runners-up."""
    if not text or not text.strip():
        return active_model().predict("")
    return active_model().predict(text, active_rules())


def evaluate(model: Model, samples: Iterable[Sequence], rules: Sequence[tuple[str, str, float]] = ()) -> dict:
    """Top-level and leaf accuracy of `model` on (text, leaf code[, weight]) samples, and its speed."""
    samples = list(samples)
    top = leaf = 0
    started = time.perf_counter()
    for sample in samples:
        text, code = sample[0], sample[1]
        s = model.predict(text, rules)
        top += s.top_code == top_level(code)
        leaf += s.code == code
    elapsed = time.perf_counter() - started
    n = len(samples)
    return {
        "top": top / n if n else 0.0,
        "leaf": leaf / n if n else 0.0,
        "n": n,
        "per_second": n / elapsed if elapsed > 0 else 0.0,
    }


def case_samples(limit: int = MAX_CASES) -> list[tuple[str, str, float]]:
    """Handled cases as training samples: title + description, final category; staff corrections weigh 3×."""
    rows = (
        WorkOrder.objects.filter(status__in=HANDLED, category__isnull=False)
        .order_by("-pk")
        .values_list("title", "description", "category__code", "category_corrected")[:limit]
    )
    out = []
    for title, description, code, corrected in rows.iterator(chunk_size=2000):
        text = f"{title or ''} {description or ''}".strip()
        if text:
            out.append((text, code, CORRECTED_WEIGHT if corrected else 1.0))
    return out


def retrain() -> ClassifierModel:
    """Train on the shipped corpus plus handled cases, measure on the held-out set, and make it active.

    Runs in one transaction: either the new model is saved active with its figures and the older
    ones deactivated (the newest KEEP_MODELS kept), or nothing changes.
    """
    with transaction.atomic():
        samples = load_samples("train") + case_samples()
        model = train(samples)
        figures = evaluate(model, load_samples("heldout"))
        ClassifierModel.objects.filter(active=True).update(active=False)
        row = ClassifierModel.objects.create(
            data=model.to_json(),
            samples=len(samples),
            heldout_top=figures["top"],
            heldout_second=figures["leaf"],
            active=True,
        )
        stale = ClassifierModel.objects.order_by("-created_at", "-pk").values_list("pk", flat=True)[KEEP_MODELS:]
        ClassifierModel.objects.filter(pk__in=list(stale)).delete()
    with _lock:
        _state.update(model_id=row.pk, model=model, model_checked=time.monotonic())
    row.figures = figures  # type: ignore[attr-defined]
    return row
