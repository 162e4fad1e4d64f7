"""The pure parts of the citizen's identification and the purge: phone forms and masks, who an ID token names,
the purge's window."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from server.identity.citizen import IdentityKind, person_key
from server.identity.errors import InvalidPhone
from server.identity.oidc import OidcConfig, citizen_from_claims, oidc_config
from server.identity.otp import code_hash, new_code
from server.identity.phone import mask_phone, normalise_phone
from server.privacy.purge import PurgeWindow
from server.settings import load_settings


@pytest.mark.parametrize("raw", ["0912345678", "+84912345678", "84 912 345 678", "(091) 234-5678"])
def test_every_way_of_writing_a_mobile_is_one_e164_number(raw):
    assert normalise_phone(raw) == "+84912345678"


@pytest.mark.parametrize("raw", [None, 912345678, "", "02438251234", "+14155552671", "091234", "x" * 33])
def test_what_is_not_a_vietnamese_mobile_is_refused(raw):
    with pytest.raises(InvalidPhone):
        normalise_phone(raw)


def test_a_masked_phone_shows_the_first_and_last_three_digits():
    assert mask_phone("+84912345678") == "+84 9•• ••• 678"
    assert mask_phone("+84389876543") == "+84 3•• ••• 543"


def test_codes_are_six_digits_and_hashed_per_phone():
    codes = {new_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes) and len(codes) > 150
    assert code_hash("k", "phone-a", "123456") != code_hash("k", "phone-b", "123456")
    assert code_hash("k", "phone-a", "123456") != code_hash("other", "phone-a", "123456")


def test_an_id_claim_with_a_cccd_number_names_the_card_holder():
    claims = {"iss": "https://id.example", "sub": "u1", "name": "Lan", "personal_number": "001-099-012345"}
    who = citizen_from_claims("s", claims, "personal_number")
    assert who.kind == IdentityKind.CCCD and who.person_key == person_key("s", IdentityKind.CCCD, "001099012345")
    assert who.name == "Lan" and who.phone is None


@pytest.mark.parametrize("value", [None, "", "12345", "not-a-number"])
def test_without_a_usable_id_number_the_subject_names_the_citizen(value):
    who = citizen_from_claims("s", {"iss": "https://id.example", "sub": "u1", "cccd": value}, "cccd")
    assert who.kind == IdentityKind.OIDC and who.person_key == person_key(
        "s", IdentityKind.OIDC, "https://id.example|u1"
    )


def test_an_id_token_without_a_subject_is_refused():
    with pytest.raises(ValueError):
        citizen_from_claims("s", {"iss": "https://id.example"}, "")


def test_a_site_overrides_the_instance_provider_or_turns_it_off():
    settings = load_settings(environ={}, oidc_issuer="https://a", oidc_client_id="c", oidc_scopes="profile")
    assert oidc_config(settings, {}) == OidcConfig("https://a", "c", "", "openid profile", "")
    site = {"oidc": {"issuer": "https://b", "id_claim": "cccd"}}
    assert oidc_config(settings, site) == OidcConfig("https://b", "c", "", "openid profile", "cccd")
    assert oidc_config(settings, {"oidc": {"enabled": False}}) is None
    assert oidc_config(load_settings(environ={}), {}) is None
    assert oidc_config(settings, {}).name != oidc_config(settings, site).name


def test_the_purge_window_is_counted_in_local_days():
    late_evening_utc = datetime(2026, 11, 18, 17, 30, tzinfo=UTC)  # 00:30 on the 19th in Hà Nội
    window = PurgeWindow.at(late_evening_utc, 30)
    assert window.today == date(2026, 11, 19) and window.keys_before_day == date(2026, 10, 20)
    assert window.finished_before == datetime(2026, 11, 18, 17, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        PurgeWindow.at(late_evening_utc, -1)
