"""Normalisation: the key under which two spellings of one company's name are equal."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion.matching.normalize import (
    legal_forms,
    legal_forms_of_other_countries,
    literal_key,
    name_tokens,
    normalize_name,
    own_acronym,
    split_legal_forms,
)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        # accents are transliterated, legal forms dropped
        ("Société Générale S.A.", "societe generale"),
        ("Société Générale", "societe generale"),
        ("Nestlé S.A.", "nestle"),
        ("Ørsted A/S", "orsted"),
        ("Straße Bau GmbH", "strasse bau"),
        # & and + become "and"
        ("AT&T Inc.", "at and t"),
        ("AT & T", "at and t"),
        ("Procter & Gamble Co.", "procter and gamble"),
        ("Beckmann+Egle GmbH", "beckmann and egle"),
        # a leading "The" goes, punctuation separates words
        ("The Coca-Cola Company", "coca cola"),
        ("Coca Cola Co", "coca cola"),
        ("THE BRANTLEY COILE COMPANY,INC", "brantley coile"),
        # legal forms are stripped repeatedly from the end
        ("Nokia Shanghai Bell Co., Ltd.", "nokia shanghai bell"),
        ("Ruijie Networks Co.,LTD", "ruijie networks"),
        ("Becon Technologies Co,.Ltd.", "becon technologies"),
        ("IQ Solutions GmbH & Co. KG", "iq solutions"),
        ("Tata Consultancy Services Private Limited", "tata consultancy services"),
        ("Comarch Sp. z o.o.", "comarch"),
        ("Dixell S.p.a.", "dixell"),
        ("Dixell SpA", "dixell"),
        ("J.P. Morgan Chase & Co.", "jp morgan chase"),
        # dots in initialisms join, other dots separate
        ("E.ON SE", "eon"),
        ("Amazon.com, Inc.", "amazon com"),
        ("McDonald's Corporation", "mcdonalds"),
        ("McDonald’s", "mcdonalds"),  # noqa: RUF001 (a typographic apostrophe on purpose)
        # legal forms only in last position: a word that is a legal form elsewhere stays
        ("Co-operative Bank plc", "co operative bank"),
        ("AG Barr plc", "ag barr"),
        # words cleanco lists but that are usually not a legal form here are kept
        ("Acme UK Ltd", "acme uk"),
        ("Fitness Unlimited", "fitness unlimited"),
        # non-Latin scripts via anyascii
        ("Газпром ПАО", "gazprom"),
        ("Яндекс", "yandeks"),
        ("Αθήνα ΑΕ", "athina"),  # noqa: RUF001 (Greek letters on purpose)
        ("トヨタ自動車", "toyotazidongche"),
        # never stripped to nothing: the first word survives
        ("The Company Ltd", "company"),
        ("Inc.", "inc"),
        ("Limited", "limited"),
        ("The", "the"),
        ("The The", "the"),
        # whitespace and garbage
        ("  Cisco   Systems,\tInc  ", "cisco systems"),
        # registry decorations: jurisdiction tags, parenthesised groups, business words
        ("ACME CORP /DE/", "acme"),
        ("ACME INC/NV", "acme"),
        ("WALT DISNEY CO/", "walt disney"),
        ("US BANCORP \\DE\\", "us bancorp"),
        ("AMARIN CORP PLC\\UK", "amarin"),
        ("UNIVERSAL DISPLAY CORP PA", "universal display"),
        ("RENT A CENTER INC DE", "rent a center"),
        # a state code is a tag only bare after a capitalised legal form
        ("Acme PA", "acme pa"),
        ("ACME TX", "acme tx"),
        ("Acme Corp (Delaware)", "acme"),
        ("Coca-Cola Company (The)", "coca cola"),
        ("University of Zurich (UZH", "university of zurich"),
        ("Acme Holdings International Group, Inc.", "acme"),
        ("Procter & Gamble Co.", "procter and gamble"),
        # profile decorations: a tagline after " - " or " | ", an accelerator batch tag
        ("Acme - We're hiring", "acme"),
        ("Acme | Co-pilot for cold sales", "acme"),
        ("Acme (YC S25)", "acme"),
        ("Rolls-Royce - Pioneering the power that matters", "rolls royce"),
        # a decoration alone is still a name
        ("(YC S25)", "yc s25"),
        ("Group", "group"),
        ("", ""),
        ("   ", ""),
        ("!!! ---", ""),
    ],
)
def test_normalize_name_table(raw: str, key: str) -> None:
    assert normalize_name(raw) == key


@pytest.mark.parametrize(
    "spellings",
    [
        ["Cisco Systems, Inc", "Cisco Systems Inc", "CISCO SYSTEMS, INC.", "Cisco Systems"],
        ["Société Générale S.A.", "SOCIETE GENERALE SA", "Societe Generale"],
        ["Huawei Technologies Co.,Ltd", "Huawei Technologies Co., Ltd.", "HUAWEI TECHNOLOGIES CO.,LTD"],
        ["Acme Inc", "Acme GmbH", "ACME Corp.", "Acme Limited", "Acme S.A.", "Acme, LLC"],
    ],
)
def test_spellings_of_one_company_share_a_key(spellings: list[str]) -> None:
    assert len({normalize_name(s) for s in spellings}) == 1


def test_different_companies_keep_different_keys() -> None:
    names = [
        "Acme",
        "Acme Systems",
        "Acme UK",
        "American Electric Power",
        "Power",
        "AT&T",
        "ATT",
        "Nova",
        "Novas Inc",
    ]
    assert len({normalize_name(n) for n in names}) == len(names)


def test_split_legal_forms_reports_what_was_stripped() -> None:
    assert split_legal_forms("Nokia Shanghai Bell Co., Ltd.") == (
        ("nokia", "shanghai", "bell"),
        ("co", "ltd"),
    )
    assert split_legal_forms("Inc.") == (("inc",), ())


def test_name_tokens_are_the_key_words() -> None:
    assert name_tokens("The Coca-Cola Company") == ("coca", "cola")


def test_legal_forms_come_from_cleanco_in_normalised_spelling() -> None:
    forms = legal_forms()
    assert {"gmbh", "sa", "llc", "co", "ltd", "pao", "gmbh and co kg", "sp z oo"} <= forms
    assert not {"uk", "unlimited"} & forms
    assert all(re.fullmatch(r"[a-z0-9]+( [a-z0-9]+)*", form) for form in forms)


@pytest.mark.parametrize("raw", ["The the Acme", "The Co Ltd", "Acme Co Ltd Inc", "S.A."])
def test_normalising_a_key_again_gives_the_same_key(raw: str) -> None:
    key = normalize_name(raw)
    assert normalize_name(key) == key


@given(st.text(max_size=60))
def test_normalisation_is_idempotent(raw: str) -> None:
    key = normalize_name(raw)
    assert normalize_name(key) == key


@given(st.text(max_size=60))
def test_key_is_lower_case_ascii_words_separated_by_single_spaces(raw: str) -> None:
    assert re.fullmatch(r"([a-z0-9]+( [a-z0-9]+)*)?", normalize_name(raw))


@given(st.text(max_size=30), st.sampled_from(["x", "Acme", "7"]))
def test_a_name_with_a_letter_or_digit_never_normalises_to_nothing(prefix: str, word: str) -> None:
    assert normalize_name(f"{prefix} {word} Ltd") != ""


def test_the_literal_key_keeps_business_words_and_jurisdiction_tags() -> None:
    assert literal_key("ACME, Inc.") == literal_key("Acme Corp (YC S25)") == "acme"
    assert literal_key("Acme - We're hiring") == "acme"
    assert literal_key("Acme Holdings") == "acme holdings" != literal_key("Acme")
    # The First BanCorp of Puerto Rico is not the First Bancorp of North Carolina.
    assert literal_key("FIRST BANCORP /PR/") != literal_key("First Bancorp")
    assert normalize_name("FIRST BANCORP /PR/") == normalize_name("First Bancorp")


def test_legal_forms_of_two_countries_tell_two_companies_but_english_forms_tell_nothing() -> None:
    assert legal_forms_of_other_countries("Orbis srl", "Orbis spol. s r.o.")
    assert legal_forms_of_other_countries("Nokia Oy", "Nokia AB")
    assert not legal_forms_of_other_countries("Acme GmbH", "Acme AG")  # Germany has both
    assert not legal_forms_of_other_countries("Acme Ltd", "Acme GmbH")
    assert not legal_forms_of_other_countries("Orbis", "Orbis spol. s r.o.")


@pytest.mark.parametrize(
    ("name", "acronym"),
    [
        ("Palo Alto Research Center (PARC)", "parc"),
        ("World Wide Web Consortium (W3C", "w3c"),
        ("University of Zurich (UZH)", "uzh"),
        ("Acme (YC S25)", ""),
        ("Coca-Cola Company (The)", ""),
        ("Berry Corp (bry)", ""),
        ("Acme GmbH (GMBH)", ""),
        ("Acme (USA)", ""),
        ("Acme (ACME)", ""),
        ("Acme (NY)", ""),
        ("Acme", ""),
    ],
)
def test_the_acronym_a_name_gives_itself_in_parentheses_is_read_but_not_a_tag(
    name: str, acronym: str
) -> None:
    assert own_acronym(name) == acronym
    assert acronym not in normalize_name(name).split() or not acronym
