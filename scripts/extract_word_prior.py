"""Write companion/matching/word_prior_data.py: how many reference organisation names hold each word.

The reference names are the SEC registry names of companion/bench/data/ and the IEEE organisation names
of companion/sandbox/data/ (see the README.md and SOURCE.md there for where each is from). Run from the
project root:

    python scripts/extract_word_prior.py
"""

from __future__ import annotations

from pathlib import Path

from companion.bench.devset import reference_names
from companion.matching import word_prior


def main() -> None:
    path = Path(word_prior.__file__).with_name("word_prior_data.py")
    path.write_text(word_prior.to_module(*word_prior.count_words(reference_names())), encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
