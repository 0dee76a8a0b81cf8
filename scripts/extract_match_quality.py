"""Builds companion/bench/data/ (the `bench match-quality` development set) from four public sources.

Usage, with the five files saved from their repositories (see companion/bench/data/README.md):

    python scripts/extract_match_quality.py company_tickers.json constituents.csv \
        affiliation_mapping_dictionary.py sp400.csv sp600.csv companion/bench/data

It writes, without choosing or editing any pair by hand:

- ``sec_companies.tsv.gz``: CIK and registry name of every company in the SEC's ticker list (one row per
  CIK: share classes repeat it), the names as the registry writes them ("SMITH A O CORP", "... /DE/");
- ``sp500_brands.tsv``: CIK and the everyday name of each S&P 500 company ("A. O. Smith");
- ``sp400_600_brands.tsv``: CIK and the everyday name of each S&P MidCap 400 and SmallCap 600 company
  ("Dick's Sporting Goods"), found by its ticker in the SEC's list, without the S&P 500's companies;
- ``ietf_affiliations.tsv``: an affiliation as people wrote it on IETF documents and the organisation
  the IETF data project maps it to ("Nokia Solutions and Networks Oy" -> "Nokia"), keeping only
  one-organisation mappings that differ beyond case and dropping the project's "Unknown" bucket.
"""

from __future__ import annotations

import ast
import csv
import gzip
import json
import sys
import unicodedata
from pathlib import Path


def clean(text: str) -> str:
    """NFKC, whitespace collapsed: the same cleaning as the sandbox's organisation names."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def sec_companies(path: Path) -> list[tuple[int, str]]:
    rows: dict[int, str] = {}
    for entry in json.loads(path.read_text(encoding="utf-8")).values():
        rows.setdefault(int(entry["cik_str"]), clean(entry["title"]))
    return sorted(rows.items())


def sp500_brands(path: Path) -> list[tuple[int, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = {int(row["CIK"]): clean(row["Security"]) for row in csv.DictReader(handle)}
    return sorted(rows.items())


def ticker_ciks(path: Path) -> dict[str, int]:
    """Ticker -> CIK in the SEC's list, the ticker written without its class separator too ("BRK-B")."""
    ciks: dict[str, int] = {}
    for entry in json.loads(path.read_text(encoding="utf-8")).values():
        ticker = str(entry["ticker"]).upper()
        for written in (ticker, ticker.replace("-", ".")):
            ciks.setdefault(written, int(entry["cik_str"]))
    return ciks


def index_brands(ciks: dict[str, int], lists: list[Path], taken: set[int]) -> list[tuple[int, str]]:
    """CIK and everyday name of each company of the index `lists` (columns Ticker, Company) whose ticker
    the SEC lists, but not a company of `taken` (the S&P 500's): the first list naming a CIK wins."""
    rows: dict[int, str] = {}
    for path in lists:
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                cik = ciks.get(row["Ticker"].strip().upper())
                if cik is not None and cik not in taken:
                    rows.setdefault(cik, clean(row["Company"]))
    return sorted(rows.items())


def ietf_affiliations(path: Path) -> list[tuple[str, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assignment = tree.body[0]
    if not isinstance(assignment, ast.Assign):
        raise SystemExit(f"{path}: expected the mapping as the first statement")
    mapping: dict[str, list[str]] = ast.literal_eval(assignment.value)
    pairs: set[tuple[str, str]] = set()
    for raw, targets in mapping.items():
        variant = clean(raw)
        if len(targets) != 1:
            continue
        target = clean(targets[0])
        if target.casefold() == "unknown" or variant.casefold() == target.casefold():
            continue
        pairs.add((variant, target))
    return sorted(pairs)


def main(argv: list[str]) -> int:
    if len(argv) != 7:
        print(__doc__, file=sys.stderr)
        return 2
    tickers, constituents, affiliations, sp400, sp600, out = (Path(arg) for arg in argv[1:])
    out.mkdir(parents=True, exist_ok=True)
    sec = "".join(f"{cik}\t{name}\n" for cik, name in sec_companies(tickers))
    # mtime=0: the same input gives the same bytes.
    (out / "sec_companies.tsv.gz").write_bytes(gzip.compress(sec.encode("utf-8"), mtime=0))
    sp500 = sp500_brands(constituents)
    (out / "sp500_brands.tsv").write_text(
        "".join(f"{cik}\t{name}\n" for cik, name in sp500), encoding="utf-8"
    )
    others = index_brands(ticker_ciks(tickers), [sp400, sp600], {cik for cik, _ in sp500})
    (out / "sp400_600_brands.tsv").write_text(
        "".join(f"{cik}\t{name}\n" for cik, name in others), encoding="utf-8"
    )
    ietf = "".join(f"{variant}\t{target}\n" for variant, target in ietf_affiliations(affiliations))
    (out / "ietf_affiliations.tsv").write_text(ietf, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
