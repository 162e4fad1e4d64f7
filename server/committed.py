"""Once a use case has committed, the request's answer says so, whatever fails after (issue 19, item 5).

After the commit a request may still read (the ticket's details, the line's figures) or touch Redis (the rate
limiter's headers, the events). If PostgreSQL or Redis goes away in between, the error handlers would answer
503 "nothing was recorded" or 500 — and a citizen told "error" walks away while their number is called.
`remember(outcome)` (the runner, after each commit) marks the request; `committed_response()` is what the error
handlers answer instead: the status of success, the ticket as the outcome knows it (no further read), and
`"recorded": true, "partial": true` so a client knows some details are missing.

Shape: {"recorded": true, "partial": true, "ticket": public ticket | null, "message", "messages": {vi, en},
plus the ticket's own fields (and its tracking token for the one who issued it) at the top level}.
"""

from __future__ import annotations

from typing import Any

from flask import Response, g, has_request_context, jsonify, request

from server.domain.errors import N_
from server.i18n import both, pick_language
from server.payloads import public_ticket

RECORDED = N_("Recorded. Some details could not be read; they will appear in a moment.")


def remember(outcome: Any) -> None:
    """The runner's hook after each commit: this request has changed something for good."""
    if has_request_context():
        g.luot_committed = outcome


def committed_response() -> Response | None:
    """The answer to a request whose use case committed before the failure, or None if nothing was committed."""
    if not has_request_context():
        return None
    outcome = g.get("luot_committed")
    if outcome is None:
        return None
    ticket = getattr(outcome, "ticket", None)
    body: dict[str, Any] = {"recorded": True, "partial": True, "ticket": None}
    if ticket is not None:
        body["ticket"] = public_ticket(ticket)
        body.update(body["ticket"])
        if request.method == "POST" and request.path.rstrip("/") == "/api/v1/tickets":
            body["tracking_token"] = ticket.tracking_token  # the issuer prints it (QR code)
            body["repeated"] = not getattr(outcome, "created", True)
    messages = both(RECORDED)
    body.update(message=messages[pick_language(request.args.get("lang"), request.headers.get("Accept-Language"))])
    body["messages"] = messages
    created = request.path.rstrip("/") == "/api/v1/tickets" and getattr(outcome, "created", False)
    response = jsonify(body)
    response.status_code = 201 if created else 200
    return response
