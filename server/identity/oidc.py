"""Citizens sign in with an OpenID Connect provider (the province's, or the national identity platform's).

Built on Authlib's Flask client: discovery (`<issuer>/.well-known/openid-configuration`), the authorisation
code flow with state, nonce and PKCE (S256), and the ID token's signature, issuer, audience, expiry and nonce
checked against the provider's published keys. Settings: the instance's `LUOT_OIDC_*` (server/settings.py),
which a site may override in its settings under `oidc` (a table with the same names: issuer, client_id,
client_secret, scopes, id_claim; `enabled = false` turns sign-in off for the site).

Who the citizen is: when `id_claim` names a claim holding a 12-digit ID (CCCD) number, the person key is that
number's (the same as the CCCD read at the kiosk, so limits count both together); otherwise the provider's
`iss|sub`. The display name comes from `name` (else `preferred_username`); nothing else is kept.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from authlib.integrations.flask_client import OAuth
from flask import Flask

from server.identity.citizen import Citizen, IdentityKind, person_key
from server.settings import Settings

_FIELDS = ("issuer", "client_id", "client_secret", "scopes", "id_claim")
_CCCD = re.compile(r"[0-9]{12}")  # ASCII digits only: \d also takes other scripts' digits
TIMEOUT_SECONDS = 10  # a provider that does not answer fails the sign-in rather than holding the request


@dataclass(frozen=True)
class OidcConfig:
    """One provider registration: `issuer` URL (discovery), client id and secret, space-separated `scopes`, and the
    claim holding the ID number (`id_claim`, may be empty)."""

    issuer: str
    client_id: str
    client_secret: str
    scopes: str = "openid profile"
    id_claim: str = ""

    @property
    def name(self) -> str:
        """The Authlib client name of this registration (a changed setting gets a new client)."""
        digest = hashlib.sha256("|".join(getattr(self, f) for f in _FIELDS).encode()).hexdigest()
        return f"oidc_{digest[:16]}"


def oidc_config(settings: Settings, site_settings: dict[str, Any] | None) -> OidcConfig | None:
    """The provider a site's citizens sign in with: the instance settings with the site's `oidc` table over them;
    None when sign-in is off (no issuer or client id, or the site's `enabled = false`)."""
    site = (site_settings or {}).get("oidc")
    site = site if isinstance(site, dict) else {}
    if site.get("enabled", True) is False:
        return None
    values = {f: str(site.get(f) or getattr(settings, f"oidc_{f}") or "").strip() for f in _FIELDS}
    if not values["issuer"] or not values["client_id"]:
        return None
    if "openid" not in values["scopes"].split():
        values["scopes"] = ("openid " + values["scopes"]).strip()
    return OidcConfig(**values)


def oidc_client(app: Flask, config: OidcConfig) -> Any:
    """The app's Authlib client for `config`, registered on first use."""
    registry: OAuth = app.extensions.get("authlib.integrations.flask_client") or OAuth(app)
    client = registry.create_client(config.name)
    if client is None:
        client = registry.register(
            config.name,
            client_id=config.client_id,
            client_secret=config.client_secret,
            server_metadata_url=config.issuer.rstrip("/") + "/.well-known/openid-configuration",
            client_kwargs={"scope": config.scopes, "code_challenge_method": "S256", "default_timeout": TIMEOUT_SECONDS},
        )
    return client


def citizen_from_claims(secret: str | bytes, claims: dict[str, Any], id_claim: str) -> Citizen:
    """The Citizen of verified ID-token claims (see the module's docstring). Raises ValueError without `sub`."""
    name = str(claims.get("name") or claims.get("preferred_username") or "")[:200]
    number = re.sub(r"\D", "", str(claims.get(id_claim) or "")) if id_claim else ""
    if _CCCD.fullmatch(number):
        return Citizen(person_key(secret, IdentityKind.CCCD, number), IdentityKind.CCCD, name=name)
    subject = str(claims.get("sub") or "")
    if not subject:
        raise ValueError("the ID token has no subject")
    identifier = f"{claims.get('iss', '')}|{subject}"
    return Citizen(person_key(secret, IdentityKind.OIDC, identifier), IdentityKind.OIDC, name=name)


def local_path(target: str | None, default: str) -> str:
    """`target` when it is a path of this server ("/book/HN?x=1"), else `default`: never an absolute URL, a
    scheme-relative "//host", a backslash trick or a control character (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or len(target) > 500:
        return default
    if any(ord(ch) < 32 or ch == "\\" for ch in target):
        return default
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else default
