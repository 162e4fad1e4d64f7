"""One HTTP request of a channel and what its result means for the message (sent, retry, failed).

- No connection (refused, DNS, connect timeout): surely not delivered → retry.
- HTTP 5xx or 429: the provider said it did not take it → retry.
- Other HTTP 4xx: refused for good → failed.
- The request left and no answer came back (read timeout, connection dropped mid-answer): it may have been
  delivered → failed, not retried (each message at most once).
"""

from __future__ import annotations

from typing import Any

import requests

from server.messaging.channels import RAW_ERROR, Outcome, SendResult


def http_call(
    method: str, url: str, timeout: float, **kwargs: Any
) -> tuple[requests.Response | None, SendResult | None]:
    """(response, None) for a 2xx answer; (None, result) otherwise, with the outcome the rules above give."""
    try:
        response = requests.request(method, url, timeout=(timeout, timeout), allow_redirects=False, **kwargs)
    except requests.ConnectionError as exc:
        if isinstance(exc, requests.ConnectTimeout) or not _answered_partly(exc):
            return None, SendResult(Outcome.RETRY, error=f"no connection: {_short(exc)}")
        return None, SendResult(Outcome.FAILED, error=f"no answer, maybe delivered: {_short(exc)}")
    except requests.Timeout as exc:  # ReadTimeout: the request was sent
        return None, SendResult(Outcome.FAILED, error=f"no answer in {timeout:g} s, maybe delivered: {_short(exc)}")
    except requests.RequestException as exc:
        return None, SendResult(Outcome.FAILED, error=f"request not sent: {_short(exc)}")
    if 200 <= response.status_code < 300:
        return response, None
    outcome = Outcome.RETRY if response.status_code >= 500 or response.status_code == 429 else Outcome.FAILED
    return None, SendResult(outcome, error=f"HTTP {response.status_code}: {response.text[:RAW_ERROR]}")


def _answered_partly(exc: requests.ConnectionError) -> bool:
    """A connection dropped after the request went out (urllib3 ProtocolError / RemoteDisconnected)."""
    text = repr(exc)
    return "RemoteDisconnected" in text or "ProtocolError" in text or "Connection aborted" in text


def _short(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {exc}"[:RAW_ERROR]


def json_of(response: requests.Response) -> dict[str, Any]:
    """The answer's JSON object, {} when it is not one."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
