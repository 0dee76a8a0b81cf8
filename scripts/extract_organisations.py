"""Builds companion/sandbox/data/organisations.txt from Debian's ieee-data package.

Usage (Debian/Ubuntu; the package only needs to be unpacked, not installed):

    apt-get download ieee-data && dpkg -x ieee-data_*.deb /tmp/ieee
    python scripts/extract_organisations.py /tmp/ieee/usr/share/ieee-data \
        > companion/sandbox/data/organisations.txt

The IEEE registries list the organisations that bought a MAC address block, so they are real
company names in their natural spellings ("Cisco Systems, Inc" next to "Cisco Systems Inc").
Placeholders, names longer than MAX_LENGTH (mostly long legal names, trimmed to keep the file
small) and exact duplicates are dropped; spelling variants are kept on purpose, because the
companion must cope with them in a real CATS account.
"""

from __future__ import annotations

import csv
import sys
import unicodedata
from pathlib import Path

REGISTRIES = ("oui.csv", "mam.csv", "oui36.csv", "iab.csv")
# Placeholders the registries use instead of an organisation's name.
NOT_NAMES = frozenset({"private", "ieee registration authority"})
MAX_LENGTH = 32


def clean(raw: str) -> str | None:
    # NFKC folds full-width punctuation (some Chinese entries use a full-width comma) into ASCII,
    # while keeping accented letters.
    name = " ".join(unicodedata.normalize("NFKC", raw).split())
    if len(name) < 2 or len(name) > MAX_LENGTH or name.casefold() in NOT_NAMES:
        return None
    if not any(ch.isalpha() for ch in name) or any(unicodedata.category(ch).startswith("C") for ch in name):
        return None
    return name


def extract(folder: Path) -> list[str]:
    names: set[str] = set()
    for registry in REGISTRIES:
        with (folder / registry).open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                name = clean(row["Organization Name"])
                if name is not None:
                    names.add(name)
    return sorted(names, key=lambda n: (n.casefold(), n))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    sys.stdout.write("".join(f"{name}\n" for name in extract(Path(argv[1]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
