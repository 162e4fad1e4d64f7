"""Where a message may go: the tracking form and enqueue() take only what identification takes, a Vietnamese
mobile number (one rule with server/identity/phone.py), or an e-mail address. A landline cannot receive a text,
and a foreign number would let anyone with a ticket send paid international texts through the centre's gateway
(and would leave data the admin's personal-data search, which takes only Vietnamese mobiles, cannot find)."""

from __future__ import annotations

import pytest

from server.identity.phone import normalise_phone
from server.messaging.addresses import Address, BadAddress, parse_address


@pytest.mark.parametrize("raw", ["0912 345 678", "84912345678", "+84 912 345 678", "０９１２３４５６７８"])
def test_vietnamese_mobiles_in_any_form_are_one_address(raw):
    assert parse_address(raw) == Address("phone", "+84912345678")


@pytest.mark.parametrize(
    "raw",
    [
        "024 3826 1234",  # a Hà Nội landline
        "+84 24 3826 1234",
        "+1 650 253 0000",  # a US number
        "+44 20 7183 8750",
        "+86 138 0013 8000",
        "12345",
        "",
        "9" * 300,
    ],
)
def test_landlines_and_foreign_numbers_are_refused(raw):
    with pytest.raises(BadAddress):
        parse_address(raw)


def test_every_phone_the_messages_take_is_one_the_personal_data_search_can_find():
    for raw in ("0912 345 678", "0386 123 456", "+84 70 123 4567"):
        assert parse_address(raw).value == normalise_phone(raw)


def test_email_addresses_still_pass():
    assert parse_address("An@Example.VN") == Address("email", "An@example.vn")
