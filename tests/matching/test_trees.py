"""The match model's form: boosted trees read from their JSON file, and refused when they do not fit."""

from __future__ import annotations

import json

import pytest

from companion.matching.scoring import MATCH_FEATURES, shipped_model
from companion.matching.trees import BoostedTrees, ModelFileError, load_model

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
    # A candidate written like the query in every respect is far likelier than one sharing nothing.
    alike = model.probability([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.0, 0.0, 1.8])
    unlike = model.probability([0.3, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.3, -0.2, 1.0, 1.0, 1.0])
    assert 0.0 < unlike < 0.1 < 0.9 < alike < 1.0
