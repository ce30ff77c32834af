"""The work-order classifier: accuracy on the held-out set, storage, keyword rules, corrections, corpus hygiene."""

from __future__ import annotations

import io
import json
import re
from collections import Counter

import pytest
from django.core.management import call_command

from linli.cases.classifier import service
from linli.cases.classifier.model import EMPTY_CODE, Model, normalize, train
from linli.cases.models import Category, ClassifierModel, KeywordRule, Status, WorkOrder
from linli.cases.taxonomy import DEFAULT_CATEGORIES
from linli.cases.tests.helpers import open_case

LEAVES = {code for code, *_ in DEFAULT_CATEGORIES if len(code) == 4}


@pytest.fixture(scope="module")
def model() -> Model:
    return service.shipped_model()


@pytest.fixture(scope="module")
def heldout():
    return service.load_samples("heldout")


@pytest.fixture
def fresh_cache():
    service.reset_cache()
    yield
    service.reset_cache()


def test_heldout_accuracy(model, heldout):
    figures = service.evaluate(model, heldout)
    assert figures["n"] == len(heldout) >= 340
    assert figures["top"] >= 0.85, figures
    assert figures["leaf"] >= 0.75, figures


def test_suggestion_has_calibrated_confidence_and_alternatives(model):
    s = model.predict("我们单元的梯子又不动了 我妈还在里面")
    assert s.code == "0301" and s.top_code == "03"
    assert 0.0 < s.confidence < 1.0
    assert len(s.alternatives) == 3 and s.alternatives[0][0] == "0301"
    assert s.alternatives[0][1] >= s.alternatives[1][1] >= s.alternatives[2][1]


def test_normalization_folds_width_case_and_digits():
    assert normalize("３号楼ＡＢ 12层") == normalize("5号楼ab 7层") == "0号楼ab 0层"


def test_json_round_trip_is_exact(model, heldout):
    data = json.loads(json.dumps(model.to_json()))
    again = Model.from_json(data)
    assert again.to_json() == model.to_json()
    for text, _code, _w in heldout[:40]:
        assert again.predict(text) == model.predict(text)
    with pytest.raises(ValueError):
        Model.from_json({**data, "version": 99})


def test_keyword_rule_changes_an_ambiguous_suggestion(model):
    text = "楼道里堆了好多东西"
    before = model.predict(text)
    assert before.code != "0401"
    after = model.predict(text, [("楼道", "0401", 2.0), ("不相干", "0502", 5.0)])
    assert after.code == "0401" and after.top_code == "04"
    assert after.matched_keywords == ["楼道"]


def test_empty_text_is_other_with_no_confidence(model):
    for text in ("", "   \n", None):
        s = model.predict(text)
        assert (s.code, s.confidence, s.alternatives) == (EMPTY_CODE, 0.0, [])


def test_sample_weight_counts_like_repetition():
    samples = [("电梯坏了", "0301", 1.0), ("楼道灯坏了", "0303", 1.0)]
    once = train(samples + [("电梯困人", "0301", 3.0)], calibrate=False)
    thrice = train(samples + [("电梯困人", "0301", 1.0)] * 3, calibrate=False)
    assert once.to_json() == thrice.to_json()


def _bigrams(text: str) -> set[str]:
    t = re.sub(r"\W+", "", normalize(text))
    return {t[i : i + 2] for i in range(len(t) - 1)}


def test_corpus_sets_are_independent_and_cover_every_leaf(heldout):
    train_set = service.load_samples("train")
    for samples, least in ((train_set, 14), (heldout, 6)):
        codes = [c for _t, c, _w in samples]
        assert set(codes) == LEAVES
        assert min(codes.count(c) for c in LEAVES) >= least
        assert all(6 <= len(t) <= 120 for t, _c, _w in samples)
    assert len(train_set) >= 800 and len(heldout) >= 340
    assert not {t for t, _c, _w in train_set} & {t for t, _c, _w in heldout}
    # Near-duplicates: character-bigram Jaccard > 0.8 (an inverted index finds the shared bigrams).
    train_grams = [_bigrams(t) for t, _c, _w in train_set]
    postings: dict[str, list[int]] = {}
    for i, grams in enumerate(train_grams):
        for g in grams:
            postings.setdefault(g, []).append(i)
    for text, _c, _w in heldout:
        h = _bigrams(text)
        shared = Counter(i for g in h for i in postings.get(g, ()))
        for i, n in shared.items():
            jaccard = n / (len(h) + len(train_grams[i]) - n)
            assert jaccard <= 0.8, f"held-out text too close to a training text: {text} ~ {train_set[i][0]}"


def test_second_authors_corpus_covers_every_leaf_apart_from_heldout(heldout):
    second = service.load_samples("train2")
    codes = [c for _t, c, _w in second]
    assert set(codes) == LEAVES and min(codes.count(c) for c in LEAVES) >= 15
    assert all(6 <= len(t) <= 120 for t, _c, _w in second)
    texts = [t for t, _c, _w in second]
    assert len(set(texts)) == len(texts)
    assert set(second) <= set(service.load_samples("train"))  # training reads every train*.jsonl
    assert not set(texts) & {t for t, _c, _w in heldout}
    held_grams = [_bigrams(t) for t, _c, _w in heldout]
    for text in texts:
        grams = _bigrams(text)
        closest = max(len(grams & h) / len(grams | h) for h in held_grams)
        assert closest <= 0.8, f"training text too close to a held-out text: {text}"


# ------------------------------------------------------------------- with the database


@pytest.mark.django_db
def test_suggest_saves_the_shipped_model_when_none_exists(fresh_cache):
    ClassifierModel.objects.all().delete()
    s = service.suggest("小区门口那个井盖没了 黑乎乎一个洞")
    assert s.code == "0203"
    row = ClassifierModel.objects.get(active=True)
    assert row.samples == len(service.load_samples("train")) and row.heldout_top >= 0.85
    assert service.suggest("  ").code == EMPTY_CODE


@pytest.mark.django_db
def test_keyword_rules_from_the_database_apply_at_once(fresh_cache):
    text = "楼道里堆了好多东西"
    assert service.suggest(text).code != "0401"
    rule = KeywordRule.objects.create(keyword="楼道", category=Category.objects.get(code="0401"), weight=2.0)
    assert service.suggest(text).code == "0401"
    rule.active = False
    rule.save()
    assert service.suggest(text).code != "0401"


@pytest.mark.django_db
def test_retrain_learns_from_staff_corrections(world, fresh_cache):
    text = "门口有股味道"
    assert service.suggest(text).code != "0105"
    for _ in range(6):  # older models: only the newest five are kept
        ClassifierModel.objects.create(data={}, active=True)
    corrected = open_case(world, title="门口有股味道", description="单元门口有股味道 下水井往上返")
    plain = open_case(world, title="路口的灯不亮", description="建设路口那盏灯晚上不亮")
    unhandled = open_case(world, title="门口有股味道", description="门口有股味道")
    WorkOrder.objects.filter(pk=corrected.pk).update(
        status=Status.RESOLVED, category=Category.objects.get(code="0105"), category_corrected=True
    )
    WorkOrder.objects.filter(pk=plain.pk).update(status=Status.CLOSED, category=Category.objects.get(code="0202"))
    WorkOrder.objects.filter(pk=unhandled.pk).update(category=Category.objects.get(code="0904"))

    weights = {code: w for _t, code, w in service.case_samples()}
    assert weights == {"0105": 3.0, "0202": 1.0}

    out = io.StringIO()
    call_command("train_classifier", stdout=out)
    assert "top-level accuracy" in out.getvalue() and "classifications/s" in out.getvalue()
    row = ClassifierModel.objects.get(active=True)
    assert row.samples == len(service.load_samples("train")) + 2
    assert row.heldout_top >= 0.85 and row.heldout_second is not None
    assert ClassifierModel.objects.count() == 5
    assert Model.from_json(row.data).class_counts["0105"] == service.shipped_model().class_counts["0105"] + 3
    assert service.suggest(text).code == "0105"
