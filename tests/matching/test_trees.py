"""The match model's form: boosted trees read from their JSON file, and refused when they do not fit."""

from __future__ import annotations

import ast
import json
import math
import random
from pathlib import Path

import pytest

from companion.matching import match_model_data
from companion.matching.index import TrigramIndex
from companion.matching.scoring import MATCH_FEATURES, match_features, shipped_model
from companion.matching.trees import BoostedTrees, ModelFileError, leaf, load_model

# Two trees over two features: "a" above 0.5 adds 2 to the log-odds, else -2; "b" above 0.9 adds 1.
SMALL = BoostedTrees(features=("a", "b"), base=-0.5, trees=((0, 0.5, -2.0, 2.0), (1, 0.9, 0.0, 1.0)))


def test_a_tree_sends_a_value_at_its_threshold_to_the_low_side() -> None:
    at = SMALL.probability([0.5, 0.0])
    above = SMALL.probability([0.51, 0.0])
    assert at == pytest.approx(1 / (1 + 2.718281828459045**2.5))
    assert above == pytest.approx(1 / (1 + 2.718281828459045**-1.5))


def test_a_model_written_and_read_back_scores_the_same() -> None:
    again = BoostedTrees.from_json(SMALL.to_json(fitted_on="a test"), ("a", "b"))
    assert again == SMALL
    for features in ([0.0, 0.0], [0.7, 0.95], [0.5, 0.9]):
        assert again.probability(features) == SMALL.probability(features)


def test_a_model_fitted_on_other_features_is_refused_with_how_to_refit() -> None:
    with pytest.raises(ModelFileError, match="--fit --write"):
        BoostedTrees.from_json(SMALL.to_json(), ("a", "c"))


@pytest.mark.parametrize(
    "tree",
    [
        [2, 0.5, 0.0, 1.0],  # a feature the model does not have
        [0, 0.5, 0.0],  # a node without its high side
        "0.3",  # a leaf that is not a number
        [0, 0.5, True, 1.0],  # a boolean is not a log-odds
    ],
)
def test_a_malformed_tree_is_refused_on_loading(tree: object) -> None:
    text = json.dumps({"features": ["a", "b"], "base": 0.0, "trees": [tree]})
    with pytest.raises(ModelFileError, match="not a tree node"):
        BoostedTrees.from_json(text, ("a", "b"))


def test_the_shipped_model_fits_the_features_the_code_computes() -> None:
    model = load_model(MATCH_FEATURES)
    assert model.features == MATCH_FEATURES and len(model.trees) > 10
    assert shipped_model() == model
    index = TrigramIndex()
    index.add_keys(enumerate(["kddi", "acme systems", "initech", *(f"firm{n} systems" for n in range(50))]))
    names = index.keys()

    def probability(query: str, choice: str) -> float:
        [features] = [f for p, f in match_features(query, names, index.word_weight) if names[p] == choice]
        return model.probability(features)

    # A unit of an organisation is that organisation; another firm sharing a common word is not.
    assert probability("kddi r and d labs", "kddi") > 0.5
    assert probability("globex systems", "acme systems") < 0.1


def test_a_model_module_written_and_imported_back_scores_the_same() -> None:
    [assignment] = ast.parse(SMALL.to_module(fitted_on="a test")).body[1:]
    assert isinstance(assignment, ast.Assign)
    assert BoostedTrees.from_json(ast.literal_eval(assignment.value), ("a", "b")) == SMALL


def test_the_shipped_module_is_exactly_what_fit_write_produces() -> None:
    # So a refit passes `ruff format --check` as the shipped module does, and nothing was edited by hand.
    provenance = json.loads(match_model_data.MODEL_JSON)
    shipped = Path(match_model_data.__file__).read_text(encoding="utf-8")
    model = shipped_model()
    assert isinstance(model, BoostedTrees)
    written = model.to_module(
        fitted_on=provenance["fitted_on"], seeds=provenance["seeds"], examples=provenance["examples"]
    )
    assert written == shipped


def test_the_compiled_model_scores_exactly_as_walking_its_trees() -> None:
    model = shipped_model()
    assert isinstance(model, BoostedTrees)
    rng = random.Random(3)
    for _ in range(300):
        features = [rng.choice((0.0, 1.0, rng.random() * 1.5)) for _ in model.features]
        total = model.base
        for tree in model.trees:
            total += leaf(tree, features)
        assert model.probability(features) == 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, total))))
