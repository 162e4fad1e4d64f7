"""The citizen's identification routes (blueprint `citizen`), as the booking page calls them (issue 18).

JSON API (errors as the rest of the API: {"error": {"code", "message", "messages": {vi, en}}}):
- GET  /api/citizen/<site>/consent     → {"version", "text", "texts": {vi, en}}: shown before a phone is taken
- POST /api/citizen/<site>/otp         {phone, consent: true} → 202 {"sent": true, "expires_in": 300}
- POST /api/citizen/<site>/otp/verify  {phone, code} → 200 {"citizen": {...}}; the browser is then identified
- GET  /api/citizen/me                 → {"citizen": null | {...}}
- POST /api/citizen/signout            → {"citizen": null}
Browser flow (OpenID Connect): GET /citizen/<site>/oidc/login?next=<local path> → the provider →
GET /citizen/oidc/callback → back to `next` (default /book/<site>), with ?signin_error=<code> when it failed.

A citizen is shown as {"kind": "phone" | "oidc" | "cccd", "phone_masked": "+84 9•• ••• 678" | null,
"name": "…"}: never the number or the person key.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

import requests
from authlib.common.errors import AuthlibBaseError
from flask import Blueprint, Response, current_app, jsonify, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from joserfc.errors import JoseError
from pydantic import BaseModel, Field, StrictBool, field_validator
from sqlmodel import select

from server.api.catalogue import UnknownSite
from server.api.support import json_body, parse_body
from server.context import luot
from server.domain.errors import DomainError
from server.extensions import client_address, limiter, never_raises
from server.i18n import both, pick_language
from server.identity import oidc
from server.identity.citizen import Citizen, IdentityKind, person_key
from server.identity.consent import CONSENT_TEXT, CONSENT_VERSION
from server.identity.errors import CodeExpired, ConsentRequired, SignInFailed, SignInUnavailable, WrongCode
from server.identity.otp import send_code, verify_code
from server.identity.phone import mask_phone, normalise_phone
from server.identity.session import current_citizen, forget_citizen, remember_citizen
from server.models import Site

log = logging.getLogger(__name__)
citizen = Blueprint("citizen", __name__)
_PENDING = "citizen_oidc"


class CodeRequest(BaseModel):
    phone: str = Field(min_length=1, max_length=32)
    consent: StrictBool = False
    language: str | None = Field(default=None, max_length=8)


class VerifyRequest(BaseModel):
    phone: str = Field(min_length=1, max_length=32)
    code: str = Field(pattern=r"^[0-9]{6}$")

    @field_validator("code", mode="before")
    @classmethod
    def _ascii_digits(cls, value: object) -> object:
        """The code as the citizen meant it: spaces and line breaks of a paste dropped, any Unicode decimal digit
        (full-width "１２３", as the phone number already accepts) read as its ASCII digit."""
        if not isinstance(value, str) or len(value) > 32:
            return value
        return "".join(str(int(ch)) if ch.isdecimal() else ch for ch in value if not ch.isspace())


_address = never_raises(client_address)


@never_raises
def _phone_key() -> str:
    """Rate-limit key of the phone in the body (its person key: the limiter's store never holds the number). The
    body is read as the view reads it (`json_body`: once, kept for the view), so a body the view would refuse
    (malformed, nested too deeply) is refused there, and never slips past the limits while the view takes it."""
    try:
        data = json_body()
        raw = data.get("phone") if isinstance(data, dict) else None
        return "phone:" + person_key(current_app.secret_key or "", IdentityKind.PHONE, normalise_phone(raw))
    except DomainError:  # refused with 400 anyway; never one bucket shared by every mistyped number
        return "phone-invalid:" + _address()


def _code_sent(response: Response) -> bool:
    """Only a code actually sent counts against the phone and the client address (a typo, a missing consent or
    a malformed request does not: a hall's shared Wi-Fi address is not locked by someone else's mistakes)."""
    return response.status_code == 202


def _wrong_code(response: Response) -> bool:
    """Only a real attempt counts against the client address's code checks: a well-formed check of a phone's
    outstanding code that was wrong (401). A malformed request, a phone with no live code, an unknown site do
    not: 60 of them from a hall's shared Wi-Fi locked every citizen behind it out of signing in for an hour. A
    code itself is protected by its own 5 tries (server/identity/otp.py)."""
    return response.status_code == WrongCode.status


def _settings_limit(name: str) -> Any:
    return lambda: getattr(luot().settings, name)


def _site(code: str) -> Site:
    with luot().db.read() as db_session:
        site = db_session.exec(select(Site).where(Site.code == code[:32])).first()
    if site is None:
        raise UnknownSite(site=code[:32])
    return site


def _language() -> str:
    return pick_language(request.args.get("lang"), request.headers.get("Accept-Language"))


def citizen_json(who: Citizen | None) -> dict[str, Any] | None:
    """A citizen as pages may show them: how they were identified, a masked phone, a name (see the module)."""
    if who is None:
        return None
    return {"kind": who.kind.value, "phone_masked": mask_phone(who.phone) if who.phone else None, "name": who.name}


@citizen.get("/api/citizen/<site_code>/consent")
def consent(site_code: str) -> ResponseReturnValue:
    _site(site_code)
    texts = both(CONSENT_TEXT, days=luot().settings.privacy_days)
    return jsonify({"version": CONSENT_VERSION, "text": texts[_language()], "texts": texts})


@citizen.post("/api/citizen/<site_code>/otp")
@limiter.limit(_settings_limit("otp_address_limit"), key_func=_address, deduct_when=_code_sent)
@limiter.limit(_settings_limit("otp_phone_limit"), key_func=_phone_key, deduct_when=_code_sent)
def ask_code(site_code: str) -> ResponseReturnValue:
    body = parse_body(CodeRequest)
    if body.consent is not True:
        raise ConsentRequired()
    phone = normalise_phone(body.phone)
    site = _site(site_code)
    ctx = luot()
    language = pick_language(body.language, request.headers.get("Accept-Language"))
    with ctx.db.write() as db_session:
        expires_in = send_code(
            db_session,
            ctx.clock.now(),
            secret=current_app.secret_key or "",
            site_id=site.id or 0,
            phone=phone,
            language=language,
        )
    return jsonify({"sent": True, "expires_in": expires_in}), 202


@citizen.post("/api/citizen/<site_code>/otp/verify")
@limiter.limit(_settings_limit("otp_verify_limit"), key_func=_address, deduct_when=_wrong_code)
def check_code(site_code: str) -> ResponseReturnValue:
    body = parse_body(VerifyRequest)
    phone = normalise_phone(body.phone)
    _site(site_code)
    ctx = luot()
    with ctx.db.write() as db_session:  # the attempt is recorded before the answer, right or wrong
        result = verify_code(
            db_session, ctx.clock.now(), secret=current_app.secret_key or "", phone=phone, code=body.code
        )
    if result.citizen is None:
        raise CodeExpired() if result.expired else WrongCode(remaining=result.remaining)
    remember_citizen(result.citizen)
    return jsonify({"citizen": citizen_json(result.citizen)})


@citizen.get("/api/citizen/me")
def me() -> ResponseReturnValue:
    return jsonify({"citizen": citizen_json(current_citizen())})


@citizen.post("/api/citizen/signout")
def signout() -> ResponseReturnValue:
    forget_citizen()
    session.pop(_PENDING, None)
    return jsonify({"citizen": None})


@citizen.get("/citizen/<site_code>/oidc/login")
def oidc_login(site_code: str) -> ResponseReturnValue:
    site = _site(site_code)
    config = oidc.oidc_config(luot().settings, site.settings)
    if config is None:
        raise SignInUnavailable()
    target = oidc.local_path(request.args.get("next"), f"/book/{site.code}")
    client = oidc.oidc_client(current_app._get_current_object(), config)  # type: ignore[attr-defined]
    try:
        answer = client.authorize_redirect(url_for("citizen.oidc_callback", _external=True))
    except (requests.RequestException, AuthlibBaseError, ValueError) as exc:
        log.warning("OpenID provider %s unreachable: %s", config.issuer, exc)
        raise SignInFailed() from None
    session[_PENDING] = {"site": site.code, "next": target}
    return answer


@citizen.get("/citizen/oidc/callback")
def oidc_callback() -> ResponseReturnValue:
    pending = session.pop(_PENDING, None)
    if not isinstance(pending, dict):
        raise SignInFailed()
    target = str(pending.get("next") or "/")
    try:
        site = _site(str(pending.get("site") or ""))
        config = oidc.oidc_config(luot().settings, site.settings)
        if config is None:
            raise SignInUnavailable()
        client = oidc.oidc_client(current_app._get_current_object(), config)  # type: ignore[attr-defined]
        token = client.authorize_access_token()
        claims = dict(token.get("userinfo") or {})
        who = oidc.citizen_from_claims(current_app.secret_key or "", claims, config.id_claim)
    except (DomainError, requests.RequestException, AuthlibBaseError, JoseError, ValueError, KeyError) as exc:
        log.warning("OpenID sign-in failed: %s", exc.__class__.__name__)
        code = exc.code if isinstance(exc, DomainError) else SignInFailed.code
        return redirect(_with_query(target, signin_error=code))
    remember_citizen(who)
    return redirect(target)


def _with_query(path: str, **params: str) -> str:
    return path + ("&" if "?" in path else "?") + urlencode(params)
