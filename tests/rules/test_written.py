"""Fingerprints of a create's fields: a teammate's identical details are recognised, nothing else is."""

from __future__ import annotations

from companion.rules.written import already_written, claim_salt, fingerprint

BODY = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "social_media_urls": [{"type": "linkedin", "url": "https://www.linkedin.com/in/ada"}],
    "address": {"city": "London", "country": "GB"},
}


def test_the_same_details_are_recognised_as_already_written() -> None:
    written = fingerprint(BODY, claim_salt(7))

    assert already_written(dict(BODY), written, claim_salt(7))


def test_fewer_details_than_were_written_are_already_written() -> None:
    written = fingerprint(BODY, claim_salt(7))

    assert already_written({"first_name": "Ada"}, written, claim_salt(7))


def test_the_order_of_keys_inside_a_value_does_not_matter() -> None:
    written = fingerprint(BODY, claim_salt(7))
    reordered = {**BODY, "address": {"country": "GB", "city": "London"}}

    assert already_written(reordered, written, claim_salt(7))


def test_a_different_value_is_not_already_written() -> None:
    written = fingerprint(BODY, claim_salt(7))

    assert not already_written({**BODY, "last_name": "Byron"}, written, claim_salt(7))


def test_a_field_the_creator_did_not_write_is_not_already_written() -> None:
    written = fingerprint(BODY, claim_salt(7))

    assert not already_written({**BODY, "title": "Analyst"}, written, claim_salt(7))


def test_a_fingerprint_holds_no_value_and_does_not_compare_across_claims() -> None:
    written = fingerprint(BODY, claim_salt(7))

    assert "Ada" not in str(written) and "London" not in str(written)
    assert written != fingerprint(BODY, claim_salt(8))
    assert not already_written(BODY, written, claim_salt(8))
