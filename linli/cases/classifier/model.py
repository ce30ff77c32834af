"""Work-order category classifier: multinomial Naive Bayes over character n-grams, pure Python.

Chinese complaint text is short and unsegmented, so the features are character unigrams, bigrams
and trigrams of the normalized text (NFKC folds full-width forms, lowercase, digit runs become "0",
punctuation splits segments). Each n-gram counts once per text (binary multinomial NB, which
suits short texts). Leaf categories ("0301") are the classes; the top level ("03") is the sum of its
leaves' posteriors, and the suggested leaf is the best leaf inside the best top level, so the two
never disagree.

Scores are log-probabilities divided by a temperature fitted on the training data (cross-validated),
so `confidence` is a calibrated softmax rather than NB's usual near-certain 0.999. Admin keyword
rules add their `weight` to the calibrated log-odds of their category when the keyword occurs.

The model is a plain dict of counts (`to_json`/`from_json`), stored in ClassifierModel.data.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

EMPTY_CODE = "9999"
FORMAT_VERSION = 1
ALPHA = 0.1
PRIOR_POWER = 0.5
NGRAMS = (1, 2)
TEMPERATURES = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 16.0)

_DIGITS = re.compile(r"[0-9]+")
_SPLIT = re.compile(r"[\s\W_]+")
# Characters so common in complaints that as unigrams they only add noise.
_STOP_UNIGRAMS = frozenset("的了是在我们你他她它这那有就都也还又和与及吧啊呢吗呀么个一不很太能会要说去来到把被让给")

KeywordRule = tuple[str, str, float]


def normalize(text: str) -> str:
    """Full-width to half-width, lowercase, digit runs collapsed to one "0"."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return _DIGITS.sub("0", text)


def features(text: str) -> set[str]:
    """The set of character n-grams of a text (n-grams do not cross punctuation or spaces)."""
    feats: set[str] = set()
    for seg in _SPLIT.split(normalize(text)):
        if not seg:
            continue
        for n in NGRAMS:
            for i in range(len(seg) - n + 1):
                gram = seg[i : i + n]
                if n == 1 and gram in _STOP_UNIGRAMS:
                    continue
                feats.add(gram)
    return feats


def top_level(code: str) -> str:
    return code[:2]


@dataclass
class Suggestion:
    code: str
    confidence: float
    alternatives: list[tuple[str, float]] = field(default_factory=list)
    top_code: str = ""
    matched_keywords: list[str] = field(default_factory=list)
    top_confidence: float = 0.0


class Model:
    """A trained classifier. Build with `train()` or `Model.from_json()`."""

    def __init__(
        self,
        class_counts: dict[str, float],
        feature_counts: dict[str, dict[str, float]],
        *,
        alpha: float = ALPHA,
        temperature: float = 1.0,
        prior_power: float = PRIOR_POWER,
    ) -> None:
        self.class_counts = class_counts
        self.feature_counts = feature_counts
        self.alpha = alpha
        self.temperature = temperature
        self.prior_power = prior_power
        self._compile()

    # -- construction -------------------------------------------------------------------------

    def _compile(self) -> None:
        """Precompute sparse log-probabilities: score_c = n·base_c + Σ postings[f][c]."""
        self.classes = sorted(self.class_counts)
        index = {c: i for i, c in enumerate(self.classes)}
        vocab: set[str] = set()
        for counts in self.feature_counts.values():
            vocab.update(counts)
        self.vocabulary_size = len(vocab)
        total_docs = sum(self.class_counts.values()) or 1.0
        self._prior = [
            self.prior_power * math.log(self.class_counts[c] / total_docs) if self.class_counts[c] > 0 else -50.0
            for c in self.classes
        ]
        self._base = []
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for c in self.classes:
            counts = self.feature_counts.get(c, {})
            denom = math.log(sum(counts.values()) + self.alpha * max(len(vocab), 1))
            self._base.append(math.log(self.alpha) - denom)
            for f, n in counts.items():
                postings[f].append((index[c], math.log(n + self.alpha) - math.log(self.alpha)))
        self._postings = dict(postings)
        self._index = index

    # -- prediction ---------------------------------------------------------------------------

    def raw_scores(self, text: str) -> list[float]:
        """Uncalibrated log P(c) + log P(text | c) for each class, in `self.classes` order."""
        feats = [f for f in features(text) if f in self._postings]
        n = len(feats)
        scores = [p + n * b for p, b in zip(self._prior, self._base, strict=True)]
        for f in feats:
            for i, delta in self._postings[f]:
                scores[i] += delta
        return scores

    def predict(self, text: str, keyword_rules: Sequence[KeywordRule] = ()) -> Suggestion:
        """The suggested leaf category for `text`; keyword rules are (keyword, leaf code, weight)."""
        if not text or not text.strip() or not self.classes:
            return Suggestion(code=EMPTY_CODE, confidence=0.0, top_code=top_level(EMPTY_CODE))
        classes = list(self.classes)
        logits = [s / self.temperature for s in self.raw_scores(text)]
        matched: list[str] = []
        if keyword_rules:
            norm = normalize(text)
            for keyword, code, weight in keyword_rules:
                key = normalize(keyword).strip()
                if not key or key not in norm:
                    continue
                if key not in matched:
                    matched.append(key)
                if code in self._index:
                    logits[self._index[code]] += weight
                elif code in classes:
                    logits[classes.index(code)] += weight
                else:  # a category the model has never seen: start it at the weakest class
                    classes.append(code)
                    logits.append(min(logits) + weight)
        probs = _softmax(logits)
        tops: dict[str, float] = defaultdict(float)
        for c, p in zip(classes, probs, strict=True):
            tops[top_level(c)] += p
        best_top = max(tops, key=lambda t: tops[t])
        ranked = sorted(zip(classes, probs, strict=True), key=lambda cp: -cp[1])
        code, confidence = next(cp for cp in ranked if top_level(cp[0]) == best_top)
        return Suggestion(
            code=code,
            confidence=round(confidence, 4),
            alternatives=[(c, round(p, 4)) for c, p in ranked[:3]],
            top_code=best_top,
            matched_keywords=matched,
            top_confidence=round(tops[best_top], 4),
        )

    # -- storage ------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "alpha": self.alpha,
            "temperature": self.temperature,
            "prior_power": self.prior_power,
            "ngrams": list(NGRAMS),
            "class_counts": {c: _compact(self.class_counts[c]) for c in self.classes},
            "feature_counts": {
                c: {f: _compact(n) for f, n in sorted(self.feature_counts.get(c, {}).items())} for c in self.classes
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Model:
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"unsupported classifier format {data.get('version')!r}")
        return cls(
            {c: float(n) for c, n in data["class_counts"].items()},
            {c: {f: float(n) for f, n in counts.items()} for c, counts in data["feature_counts"].items()},
            alpha=float(data["alpha"]),
            temperature=float(data["temperature"]),
            prior_power=float(data["prior_power"]),
        )


def _compact(n: float) -> float | int:
    return int(n) if float(n).is_integer() else n


def _softmax(logits: list[float]) -> list[float]:
    top = max(logits)
    exps = [math.exp(x - top) for x in logits]
    total = sum(exps)
    return [e / total for e in exps]


def _count(samples: Iterable[tuple[str, str, float]]) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    class_counts: dict[str, float] = defaultdict(float)
    feature_counts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for text, code, weight in samples:
        feats = features(text)
        if not feats or weight <= 0:
            continue
        class_counts[code] += weight
        counts = feature_counts[code]
        for f in feats:
            counts[f] += weight
    return dict(class_counts), {c: dict(v) for c, v in feature_counts.items()}


def _fit_temperature(samples: list[tuple[str, str, float]], folds: int = 3) -> float:
    """The temperature minimizing cross-validated log loss (so confidences mean what they say)."""
    if len(samples) < folds * 10:
        return 1.0
    cached: list[tuple[list[float], int]] = []
    for k in range(folds):
        train_part = [s for i, s in enumerate(samples) if i % folds != k]
        test_part = [s for i, s in enumerate(samples) if i % folds == k]
        model = Model(*_count(train_part))
        for text, code, _weight in test_part:
            if code in model._index:
                cached.append((model.raw_scores(text), model._index[code]))
    if not cached:
        return 1.0

    def log_loss(t: float) -> float:
        total = 0.0
        for scores, truth in cached:
            top = max(scores)
            z = sum(math.exp((s - top) / t) for s in scores)
            total -= (scores[truth] - top) / t - math.log(z)
        return total

    return min(TEMPERATURES, key=log_loss)


def train(samples: Iterable[tuple[str, str, float]], *, calibrate: bool = True) -> Model:
    """Train on (text, leaf code, weight) samples; a weight of 3 counts a text three times."""
    samples = [(t, c, float(w)) for t, c, w in samples]
    class_counts, feature_counts = _count(samples)
    temperature = _fit_temperature(samples) if calibrate else 1.0
    return Model(class_counts, feature_counts, temperature=temperature)
