"""Refusals of the citizen's identification (phone codes, OpenID Connect), with vi/en messages at the edge."""

from __future__ import annotations

from server.domain.errors import N_, DomainError


class InvalidPhone(DomainError):
    code, status, message = (
        "invalid_phone",
        400,
        N_("Please give a Vietnamese mobile phone number, for example 0912 345 678."),
    )


class ConsentRequired(DomainError):
    code, status, message = (
        "consent_required",
        400,
        N_("Please read and accept how your phone number is used before we send a code."),
    )


class WrongCode(DomainError):
    code, status, message = (
        "wrong_code",
        401,
        N_("This code is not right. {remaining} tries left."),
    )


class CodeExpired(DomainError):
    code, status, message = (
        "code_expired",
        400,
        N_("This code has expired or was used up: please ask for a new one."),
    )


class CodeTooSoon(DomainError):
    code, status, message = (
        "code_too_soon",
        429,
        N_("A code was just sent to this number: please wait {seconds} seconds before asking again."),
    )


class SignInUnavailable(DomainError):
    code, status, message = (
        "sign_in_unavailable",
        404,
        N_("Signing in with an identity account is not set up for this centre."),
    )


class SignInFailed(DomainError):
    code, status, message = (
        "sign_in_failed",
        400,
        N_("Signing in did not succeed: please try again."),
    )
