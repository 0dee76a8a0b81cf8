"""Fitting the match model (`scoring.MATCH_MODEL`) and its thresholds on the development set.

`cats-companion bench match-quality --fit` runs this: every query of the development set is normalised,
the index picks its candidates as a lookup does (`TrigramIndex.match_candidates`), and each candidate the
model would score (`scoring.match_features`) is an example, labelled by whether it is the query's
organisation (`DevSet.right`). A logistic regression (plain gradient descent on standardised features,
a little L2 so that no feature's weight runs away) is fitted on them. The thresholds are then read off
the fitted model's own decisions on the same set: the lowest match score at which at most
`MATCH_TARGET` of the names not in the cache get a match, and at most `LIKELY_TARGET` get a likely one.
A name the same as a cached one (`scoring.same_name`) is no question for the model and is left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from companion.bench.devset import KINDS, DevSet
from companion.matching import TrigramIndex, normalize_name
from companion.matching.scoring import MatchModel, match_features, same_name

#: At most this share of the names not in the cache may get a match at the calibrated `similar_match`:
#: under the issue's 8%, leaving room for held-out names the fit has not seen.
MATCH_TARGET: Final = 0.065
#: At most this share may get a "Likely match" (`similar_likely`).
LIKELY_TARGET: Final = 0.01
CANDIDATES: Final = 200
ITERATIONS: Final = 400
LEARNING_RATE: Final = 0.5
L2: Final = 1e-3


@dataclass(frozen=True)
class Example:
    query: int  # position of the query in the development set
    features: tuple[float, ...]
    right: bool


@dataclass(frozen=True)
class FittedModel:
    model: MatchModel
    #: The calibrated `MatchThresholds.similar_match` and `similar_likely` (0-100).
    similar_match: float
    similar_likely: float
    examples: int


def examples(devset: DevSet) -> tuple[list[Example], set[int]]:
    """One example per candidate the model scores, for every real pair and name not in the cache that is
    not an exact name; and the positions of the exact names (the decorated queries are left out: they
    are hand-made).
    """
    index = TrigramIndex()
    index.add_keys((company_id, normalize_name(name)) for company_id, name in devset.companies)
    found: list[Example] = []
    exact: set[int] = set()
    for number, query in enumerate(devset.queries):
        if query.kind not in KINDS and query.target is not None:
            continue
        key = normalize_name(query.text)
        candidates = index.match_candidates(key, CANDIDATES)
        if any(same_name(key, name) for name, _ in candidates):
            exact.add(number)
            continue
        names = [name for name, _ in candidates]
        for position, features in match_features(key, names, index.word_weight):
            right = any(devset.right(query, company_id) for company_id in candidates[position][1])
            found.append(Example(number, features, right))
    return found, exact


def fit(found: list[Example]) -> MatchModel:
    """Logistic regression of `right` on the features, weights given back on the features' own scale."""
    if not found:
        raise ValueError("no examples to fit the match model on")
    count, width = len(found), len(found[0].features)
    mean = [math.fsum(e.features[j] for e in found) / count for j in range(width)]
    spread = [
        max(1e-6, math.sqrt(math.fsum((e.features[j] - mean[j]) ** 2 for e in found) / count))
        for j in range(width)
    ]
    rows = [[(e.features[j] - mean[j]) / spread[j] for j in range(width)] for e in found]
    labels = [1.0 if e.right else 0.0 for e in found]
    weights, bias = [0.0] * width, 0.0
    for _ in range(ITERATIONS):
        gradient, gradient_bias = [0.0] * width, 0.0
        for row, label in zip(rows, labels, strict=True):
            total = bias + sum(w * x for w, x in zip(weights, row, strict=True))
            error = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, total)))) - label
            gradient_bias += error
            for j, x in enumerate(row):
                gradient[j] += error * x
        bias -= LEARNING_RATE * gradient_bias / count
        weights = [w - LEARNING_RATE * (g / count + L2 * w) for w, g in zip(weights, gradient, strict=True)]
    raw = tuple(round(w / s, 3) for w, s in zip(weights, spread, strict=True))
    raw_bias = bias - math.fsum(w * m / s for w, m, s in zip(weights, mean, spread, strict=True))
    return MatchModel(weights=raw, bias=round(raw_bias, 3))


def threshold(best: list[float], target: float, out_of: int) -> float:
    """The lowest whole score (0-100) at which at most `target` of `out_of` queries have a `best` reaching
    it (100 when none does)."""
    for cut in range(101):
        if sum(score >= cut for score in best) <= target * out_of:
            return float(cut)
    return 100.0


def fit_devset(devset: DevSet) -> FittedModel:
    found, exact = examples(devset)
    model = fit(found)
    negatives = sum(query.target is None for query in devset.queries)
    best: dict[int, float] = {}
    for example in found:
        if devset.queries[example.query].target is None:
            score = 100 * model.probability(example.features)
            best[example.query] = max(best.get(example.query, 0.0), score)
    # A name not in the cache written like a cached one is matched whatever the model says: it counts
    # against the match threshold's target, not the likely one's (the model does not decide it).
    same = sum(devset.queries[number].target is None for number in exact)
    scores = list(best.values())
    return FittedModel(
        model=model,
        similar_match=threshold(scores, MATCH_TARGET - same / max(1, negatives), negatives),
        similar_likely=threshold(scores, LIKELY_TARGET, negatives),
        examples=len(found),
    )


def format_fit(fitted: FittedModel) -> str:
    weights = ", ".join(f"{w}" for w in fitted.model.weights)
    return "\n".join(
        [
            f"fitted on {fitted.examples:,} candidates of the development set",
            f"MATCH_MODEL = MatchModel(weights=({weights}), bias={fitted.model.bias})",
            f"similar_match = {fitted.similar_match:.0f} "
            f"(names not in the cache matched <= {MATCH_TARGET:.1%})",
            f"similar_likely = {fitted.similar_likely:.0f} (likely matches <= {LIKELY_TARGET:.1%})",
        ]
    )
