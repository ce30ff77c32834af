#!/usr/bin/env python3
"""Classifier benchmark: train the work-order classifier on the shipped corpus, then report its
top-level and second-level accuracy on the held-out set, the worst confusions and classifications
per second, beside a keyword-dispatch baseline (the taxonomy's own names as the keyword table)
measured in the same run.

    .venv/bin/python bench/classifier.py [--repeat-to 10000]

Needs no database. Prints the figures and writes them as JSON to var/bench-classifier.json;
docs/benchmarks.md records a run. Target (DESIGN.md): top-level accuracy >= 90 %.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
os.environ.setdefault("LINLI_MODE", "test")

import django  # noqa: E402

django.setup()

from linli.cases.classifier.model import EMPTY_CODE, normalize, top_level, train  # noqa: E402
from linli.cases.classifier.service import load_samples  # noqa: E402
from linli.cases.taxonomy import DEFAULT_CATEGORIES  # noqa: E402

TARGET_TOP = 0.90


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


class KeywordDispatch:
    """The "keyword dispatch" peer: a leaf wins by the total length of its keywords found in the text.

    `terms` uses the category names' terms as written (垃圾分类违规, 电梯故障 …); `bigrams` also
    counts every two-character piece of them (垃圾, 分类, 电梯 …), a looser, more forgiving table.
    """

    def __init__(self, mode: str) -> None:
        self.table: list[tuple[str, str]] = []
        for code, name_zh, _en, _handler in DEFAULT_CATEGORIES:
            if len(code) != 4 or code == EMPTY_CODE:
                continue
            parts = [p for p in re.split(r"[/()（）]", name_zh) if p]
            keys = set(parts)
            if "鼠蟑蚊蝇" in keys:
                keys |= set("鼠蟑蚊蝇")
            if mode == "bigrams":
                keys |= {p[i : i + 2] for p in parts for i in range(len(p) - 1)}
            self.table += [(normalize(k), code) for k in keys]

    def predict(self, text: str) -> str:
        norm = normalize(text)
        score: Counter[str] = Counter()
        for key, code in self.table:
            if key in norm:
                score[code] += len(key)
        return score.most_common(1)[0][0] if score else EMPTY_CODE


def measure(predict, heldout: list[tuple[str, str, float]], repeat_to: int) -> dict:
    top = leaf = 0
    confusions: Counter[tuple[str, str]] = Counter()
    for text, code, _w in heldout:
        got = predict(text)
        top += top_level(got) == top_level(code)
        leaf += got == code
        if got != code:
            confusions[(code, got)] += 1
    texts = [t for t, _c, _w in heldout]
    rounds = -(-repeat_to // len(texts))
    started = time.perf_counter()
    for _ in range(rounds):
        for t in texts:
            predict(t)
    elapsed = time.perf_counter() - started
    n = len(heldout)
    return {
        "top": round(top / n, 4),
        "leaf": round(leaf / n, 4),
        "per_second": round(rounds * len(texts) / elapsed),
        "classifications_timed": rounds * len(texts),
        "worst_confusions": [[a, b, k] for (a, b), k in confusions.most_common(5)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat-to", type=int, default=10_000, help="classifications timed (held-out repeated)")
    args = parser.parse_args()

    train_set, heldout = load_samples("train"), load_samples("heldout")
    started = time.perf_counter()
    model = train(train_set)
    train_seconds = time.perf_counter() - started

    result = {
        "machine": machine(),
        "dataset": {
            "train": len(train_set),
            "heldout": len(heldout),
            "leaves": len({c for _t, c, _w in train_set}),
            "top_levels": len({top_level(c) for _t, c, _w in train_set}),
        },
        "train_seconds": round(train_seconds, 3),
        "temperature": model.temperature,
        "naive_bayes": measure(lambda t: model.predict(t).code, heldout, args.repeat_to),
        "keyword_terms": measure(KeywordDispatch("terms").predict, heldout, args.repeat_to),
        "keyword_bigrams": measure(KeywordDispatch("bigrams").predict, heldout, args.repeat_to),
    }

    m, d = result["machine"], result["dataset"]
    print(f"machine: {m['platform']}, {m['nproc']} CPUs ({m['cpu']}), Python {m['python']}, {m['date']}")
    print(
        f"dataset: {d['train']} training texts, {d['heldout']} held-out texts, "
        f"{d['leaves']} second-level / {d['top_levels']} top-level categories"
    )
    print(f"training: {result['train_seconds']} s (temperature {result['temperature']})\n")
    print(f"{'method':<34}{'top-level':>10}{'2nd level':>11}{'per second':>12}")
    labels = {
        "naive_bayes": "naive Bayes, char 1+2-grams",
        "keyword_terms": "keyword dispatch (category terms)",
        "keyword_bigrams": "keyword dispatch (term bigrams)",
    }
    for key, label in labels.items():
        r = result[key]
        print(f"{label:<34}{r['top']:>10.1%}{r['leaf']:>11.1%}{r['per_second']:>12,}")
    nb = result["naive_bayes"]
    best_kw = max(result["keyword_terms"]["top"], result["keyword_bigrams"]["top"])
    print(
        f"\ntop-level target {TARGET_TOP:.0%}: {'met' if nb['top'] >= TARGET_TOP else 'NOT met'}; "
        f"keyword dispatch top-level error {1 - best_kw:.1%} vs classifier {1 - nb['top']:.1%}"
    )
    print("worst confusions (true → predicted, count):")
    for a, b, k in nb["worst_confusions"]:
        print(f"  {a} → {b}: {k}")

    out = ROOT / "var" / "bench-classifier.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2))
    print(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
