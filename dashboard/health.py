"""Device health for the live dashboard: every device of a site, connected or not, and each kiosk printer's
status, with the alerts a manager must act on.

GET /dashboard/api/devices?site=ID → ``{"devices": [...], "alerts": n}``; a device::

    {"id", "name", "kind", "connected": bool, "since": ISO | null, "seen": bool,
     "printer": null | {"spec", "status": online | offline | paper_out | unknown, "detail": {"vi", "en"}, "at"},
     "alert": bool}

`seen` is False for a device not connected since the server started (switched off for the night: grey, not an
alert). An alert is a device that was connected and dropped, or a printer offline or out of paper. The page
keeps the list current with ``device.status`` (server.presence) and ``printer.status`` (server.printing.jobs).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from server.context import luot
from server.domain.vocabulary import DeviceKind
from server.models import Device

PRINTER_ALERTS = ("offline", "paper_out")


def device_health(site_id: int) -> dict[str, Any]:
    """The site's devices (not revoked), by kind then name, with their state in this process."""
    ctx = luot()
    with ctx.db.read() as db_session:
        devices = db_session.exec(
            select(Device)
            .where(Device.site_id == site_id, col(Device.revoked).is_(False))
            .order_by(col(Device.kind), col(Device.name))
        ).all()
    rows = [_row(device, ctx) for device in devices]
    return {"devices": rows, "alerts": sum(1 for r in rows if r["alert"])}


def _row(device: Device, ctx: Any) -> dict[str, Any]:
    presence = ctx.hub.presence.view(device.id or 0)
    printer = None
    spec = str((device.settings or {}).get("printer") or "") if device.kind == DeviceKind.KIOSK else ""
    if spec:
        state = ctx.print_jobs.state(device.id or 0)
        view = state.view() if state is not None and state.printer == spec else None
        printer = {
            "spec": spec,
            "status": view["status"] if view else "unknown",
            "detail": view["detail"] if view else {"vi": "", "en": ""},
            "at": view["at"] if view else None,
        }
    seen = presence["since"] is not None
    dropped = seen and not presence["connected"]
    return {
        "id": device.id,
        "name": device.name,
        "kind": device.kind,
        "connected": presence["connected"],
        "since": presence["since"],
        "seen": seen,
        "printer": printer,
        "alert": dropped or (printer is not None and printer["status"] in PRINTER_ALERTS),
    }
