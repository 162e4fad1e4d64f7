"""What a kiosk's print agent (``luot kiosk-agent``, server.printing.agent) sends, checked before it changes anything.

An agent is a device on the hall's network; its messages are input like any request body. ``print.hello`` and
``printer.report`` carry its printer's state (`PrinterReport`); ``print.ack`` a job's outcome (`PrintAck`), e.g.
``{"job_id": "3f…", "state": "printed", "attempts": 2, "status": "online", "code": "", "message_vi": "",
"message_en": ""}``. A message of the wrong shape (``"attempts": "abc"``, a list instead of an object, a
megabyte of text) is refused as a whole, naming the first field at fault.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Message = TypeVar("Message", bound=BaseModel)

Text = Annotated[str | None, Field(default=None, max_length=500)]


class PrinterReport(BaseModel):
    """The agent's printer: `status` one of server.printing.jobs.STATUSES (anything else is not applied), `code`
    a PrinterError code, and the texts the kiosk and the managers show. Other keys (``printer``) are ignored."""

    model_config = ConfigDict(extra="ignore")

    status: str | None = Field(default=None, max_length=16)
    code: str | None = Field(default=None, max_length=64)
    message_vi: Text
    message_en: Text


class PrintAck(PrinterReport):
    """A job's receipt ("received") or outcome ("printed", "failed", "expired") after `attempts` tries."""

    job_id: str = Field(min_length=1, max_length=64)
    state: str = Field(max_length=16)
    attempts: int | None = Field(default=None, ge=0, le=1000, strict=True)


def read_message(model: type[Message], data: Any) -> tuple[Message | None, str]:
    """(the message, "") if `data` is an object of `model`'s shape, else (None, the first field at fault: "attempts",
    or "message" when `data` is not an object at all)."""
    if not isinstance(data, dict):
        return None, "message"
    try:
        return model.model_validate(data), ""
    except ValidationError as exc:
        location = exc.errors()[0].get("loc", ())
        return None, ".".join(str(part) for part in location) or "message"
