"""The match model's form: a small ensemble of boosted decision trees over a pair's match features.

Each tree asks at most a few questions of a feature vector ("is `token_set` at most 0.93?") and ends in a
leaf that adds to the log-odds that the candidate is the query's organisation; the model's probability is
the logistic of `base` plus every tree's leaf. A logistic model over the same features cannot say that a
lead over the other candidates matters only when the names share a rare word, or that a name inside
the other means more when little is left over; a few shallow trees can, and they are still read in
microseconds (`cats-companion bench match-quality` measured a lookup's share of them).

The fitted model is data: its JSON text in `match_model_data.py` beside this module (a module rather than
a file to read, so that matching stays free of I/O), written by `cats-companion bench match-quality --fit
--write` (companion.bench.match_model fits it), and checked on loading against the feature names it was
fitted on.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

from companion.matching import match_model_data

#: A tree: a leaf's log-odds, or (feature position, threshold, subtree when at most, subtree when above).
Tree: TypeAlias = "float | tuple[int, float, Tree, Tree]"

#: The module holding the shipped model's JSON text, and how many characters of it go on a line.
MODEL_MODULE: Final = "match_model_data.py"
_CHUNK: Final = 100


class ModelFileError(ValueError):
    """The match model's file does not fit the features the code computes."""


def leaf(tree: Tree, features: Sequence[float]) -> float:
    """The log-odds the tree's leaf for these features adds."""
    node = tree
    while isinstance(node, tuple):
        position, threshold, low, high = node
        node = low if features[position] <= threshold else high
    return node


@dataclass(frozen=True)
class BoostedTrees:
    """P(the candidate is the query's organisation) from its match features."""

    #: The feature names, in order: what the trees' positions refer to.
    features: tuple[str, ...]
    base: float
    trees: tuple[Tree, ...]

    #: The log-odds as one Python function compiled from the trees (see `_compiled`).
    _log_odds: Callable[[Sequence[float]], float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_log_odds", _compiled(self.base, self.trees))

    def probability(self, features: Sequence[float]) -> float:
        total = self._log_odds(features)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, total))))

    def to_json(self, **provenance: Any) -> str:
        """The model as JSON, with what it was fitted on (`provenance`)."""
        data = {"features": list(self.features), "base": self.base, "trees": list(self.trees)}
        return json.dumps({**provenance, **data}, separators=(",", ":"))

    def to_module(self, **provenance: Any) -> str:
        """The text of `MODEL_MODULE` holding this model (see `to_json`)."""
        text = self.to_json(**provenance)
        lines = [_literal(text[start : start + _CHUNK]) for start in range(0, len(text), _CHUNK)]
        return (
            '"""The shipped match model (`trees`): `cats-companion bench match-quality --fit --write`."""\n\n'
            "MODEL_JSON = (\n" + "".join(f"    {line}\n" for line in lines) + ")\n"
        )

    @classmethod
    def from_json(cls, text: str, features: Sequence[str]) -> BoostedTrees:
        """A model from its JSON form; `features` are the names the code computes, in its order."""
        data = json.loads(text)
        if list(data.get("features", ())) != list(features):
            raise ModelFileError(
                f"the match model was fitted on features {data.get('features')}, "
                f"but the code computes {list(features)}: refit it with "
                "`cats-companion bench match-quality --fit --write`"
            )
        return cls(
            features=tuple(features),
            base=float(data["base"]),
            trees=tuple(_tree(node, len(features)) for node in data["trees"]),
        )


def _compiled(base: float, trees: Sequence[Tree]) -> Callable[[Sequence[float]], float]:
    """`base` plus each tree's leaf, as one function of nested conditional expressions, compiled once.

    A lookup scores a handful of candidates with every tree; walking the trees' tuples cost ~40 us a
    candidate with 150 trees of depth 5, the compiled expressions ~11 us. The text is made of numbers
    only: positions are ints and thresholds and leaves floats (`_tree` checks a loaded model), written
    with `repr`, which gives a float back exactly. The sum runs in the trees' order, as the walk did.
    """

    def expression(node: Tree) -> str:
        if isinstance(node, tuple):
            position, threshold, low, high = node
            cut = float(threshold)
            return f"({expression(low)} if x[{int(position)}] <= {cut!r} else {expression(high)})"
        return repr(float(node))

    source = "def log_odds(x):\n    return " + " + ".join([repr(float(base)), *map(expression, trees)])
    namespace: dict[str, Any] = {}
    exec(compile(source + "\n", "<match model>", "exec"), namespace)  # noqa: S102 - numbers only, see above
    function: Callable[[Sequence[float]], float] = namespace["log_odds"]
    return function


def _literal(chunk: str) -> str:
    """A Python literal of a piece of ASCII JSON, quoted as `ruff format` would leave it: double quotes,
    unless the piece holds some (then single quotes, so that a line is as long as its text)."""
    return repr(chunk) if '"' in chunk else f'"{chunk}"'


def _tree(node: object, width: int) -> Tree:
    """A tree from its JSON form (nested lists), checked: a malformed file must fail on loading."""
    if isinstance(node, int | float) and not isinstance(node, bool):
        return float(node)
    if isinstance(node, list) and len(node) == 4 and isinstance(node[0], int) and 0 <= node[0] < width:
        return (node[0], float(node[1]), _tree(node[2], width), _tree(node[3], width))
    raise ModelFileError(f"not a tree node of the match model: {str(node)[:80]}")


def load_model(features: Sequence[str]) -> BoostedTrees:
    """The fitted model shipped with the package."""
    return BoostedTrees.from_json(match_model_data.MODEL_JSON, features)
