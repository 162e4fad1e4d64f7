"""The person key: the same person gives the same key, the number cannot be read back, empty is refused."""

import pytest

from server.identity.citizen import IdentityKind, person_key


def test_same_phone_written_differently_gives_one_key() -> None:
    a = person_key("s3cret", IdentityKind.PHONE, "+84 912 345 678")
    b = person_key("s3cret", IdentityKind.PHONE, "84912345678")
    assert a == b and len(a) == 64 and "912345678" not in a


def test_key_depends_on_secret_and_kind() -> None:
    phone = person_key("s3cret", IdentityKind.PHONE, "001099012345")
    cccd = person_key("s3cret", IdentityKind.CCCD, "001099012345")
    other_instance = person_key("another", IdentityKind.CCCD, "001099012345")
    assert len({phone, cccd, other_instance}) == 3


def test_empty_identifier_is_refused() -> None:
    with pytest.raises(ValueError):
        person_key("s3cret", IdentityKind.CCCD, " - ")


def test_citizen_session_round_trip_and_expiry() -> None:
    from flask import Flask

    from server.identity.citizen import Citizen
    from server.identity.session import CITIZEN_MINUTES, current_citizen, forget_citizen, remember_citizen

    app = Flask(__name__)
    app.secret_key = "test"
    citizen = Citizen("a" * 64, IdentityKind.PHONE, "+84912345678", "")
    with app.test_request_context():
        assert current_citizen() is None
        remember_citizen(citizen, now_s=1000.0)
        assert current_citizen(now_s=1000.0 + CITIZEN_MINUTES * 60 - 1) == citizen
        assert current_citizen(now_s=1000.0 + CITIZEN_MINUTES * 60 + 1) is None
        forget_citizen()
        assert current_citizen(now_s=1000.0) is None
