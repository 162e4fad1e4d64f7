"""Request bodies sent with ``Transfer-Encoding: chunked`` (no Content-Length) are read within MAX_CONTENT_LENGTH,
or refused; never read as an empty body while the action goes ahead.

Werkzeug reads a body without a Content-Length only when the WSGI server says it ends the stream itself
(``environ["wsgi.input_terminated"]``); eventlet's server does end it (its ``wsgi.Input`` stops at the last chunk)
but does not say so, and werkzeug then hands the application an empty body: a chunked ``{"dossiers": [...]}`` was
read as ``{}``. Where the flag is set (gevent, werkzeug's server), werkzeug holds the body to the limit by cutting
it off there silently: a body of JSON followed by megabytes of spaces would pass.

So `dechunk_request_bodies` does what a buffering proxy does: it reads a chunked body the server terminates, up to
the limit, and hands the application that body with its Content-Length (every reader, JSON or form, then sees a
plain body). What it cannot hand over, `refuse_unreadable_body` (a ``before_request``) refuses:

* a body over the limit: 413;
* a chunked body the server does not terminate: 411 Length Required;
* a transfer coding other than plain ``chunked``: 501 Not Implemented (RFC 9112 §6.1; eventlet reads such a body
  as empty);
* a broken chunked encoding: 400.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import IO, TYPE_CHECKING, Any

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from server.domain.errors import N_, DomainError

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: What `dechunk_request_bodies` found, for `refuse_unreadable_body`: "too_large" or "unreadable".
PROBLEM = "luot.request_body_problem"
_PIECE = 64 * 1024


class BodyLengthRequired(DomainError):
    code, status, message = (
        "length_required",
        411,
        N_("The request body cannot be read here without its length: send it with a Content-Length header."),
    )


class UnsupportedTransferCoding(DomainError):
    code, status, message = (
        "unsupported_transfer_coding",
        501,
        N_("Unsupported Transfer-Encoding: send the request body as it is, or chunked."),
    )


class UnreadableBody(DomainError):
    code, status, message = (
        "unreadable_body",
        400,
        N_("The request body could not be read (its chunked encoding is broken)."),
    )


def transfer_codings(environ: dict[str, Any]) -> list[str]:
    """The request's transfer codings, lower case, in order (``[]`` without a Transfer-Encoding header). An empty
    list element is kept (``",chunked"`` → ``["", "chunked"]``): the servers read a body as chunked only when the
    header is exactly ``chunked`` (eventlet compares the whole value), so any other spelling is refused rather
    than read as chunked here and as empty there."""
    header = str(environ.get("HTTP_TRANSFER_ENCODING", ""))
    return [coding.strip().lower() for coding in header.split(",")] if header.strip() else []


def server_terminates_input(environ: dict[str, Any]) -> bool:
    """Whether reading ``wsgi.input`` to its end stops at the end of a chunked body: the server says so, or the
    stream is eventlet's own ``Input`` decoding chunks (which does, without saying so; an ``Input`` that does not
    decode them would read a chunked body as empty)."""
    stream = environ.get("wsgi.input")
    if stream is not None and stream is environ.get("eventlet.input"):
        return bool(getattr(stream, "chunked_input", False))  # eventlet's own word that it decodes the chunks
    return bool(environ.get("wsgi.input_terminated"))


def read_at_most(stream: IO[bytes], limit: int | None) -> bytes | None:
    """All of `stream`, or None once it holds more than `limit` bytes (the rest is left unread). Raises OSError or
    ValueError as the stream does (a client gone, a broken chunk)."""
    pieces: list[bytes] = []
    size = 0
    while limit is None or size <= limit:
        piece = stream.read(_PIECE if limit is None else min(_PIECE, limit + 1 - size))
        if not piece:
            return b"".join(pieces)
        pieces.append(piece)
        size += len(piece)
    return None


def dechunk(environ: dict[str, Any], limit: int | None) -> None:
    """Replaces a plain chunked body the server terminates by the bytes read (with their CONTENT_LENGTH, without
    the Transfer-Encoding header), or records in ``environ[PROBLEM]`` why it cannot."""
    if transfer_codings(environ) != ["chunked"] or not server_terminates_input(environ):
        return  # no chunked body, or one `refuse_unreadable_body` refuses
    try:
        body = read_at_most(environ["wsgi.input"], limit)
    except (OSError, ValueError):
        environ[PROBLEM], body = "unreadable", b""
    if body is None:
        environ[PROBLEM], body = "too_large", b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    del environ["HTTP_TRANSFER_ENCODING"]


def dechunk_request_bodies(wsgi_app: WSGIApplication, limit: Callable[[], int | None]) -> WSGIApplication:
    """`wsgi_app`, handed chunked bodies as plain ones (`dechunk`); `limit()` is MAX_CONTENT_LENGTH."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if "HTTP_TRANSFER_ENCODING" in environ:
            dechunk(environ, limit())
        return wsgi_app(environ, start_response)

    return app


def refuse_unreadable_body() -> None:
    """Before every request, refuses a body the application would not see whole: raises RequestEntityTooLarge
    (413), `UnreadableBody` (400), `UnsupportedTransferCoding` (501) or `BodyLengthRequired` (411)."""
    problem = request.environ.get(PROBLEM)
    if problem == "too_large":
        raise RequestEntityTooLarge()
    if problem == "unreadable":
        raise UnreadableBody()
    codings = transfer_codings(request.environ)
    if codings and codings != ["chunked"]:
        raise UnsupportedTransferCoding()
    if codings:
        raise BodyLengthRequired()  # `dechunk` left a chunked body: the server does not terminate it
