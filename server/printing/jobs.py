"""Kiosk ticket printing on the server: an issued ticket becomes a print job, printed outside any transaction.

The `after_issue` hook (it runs after the commit) turns a kiosk's ticket into a PrintJob for the printer
named by the kiosk's device setting ``printer``:

* a printer the server reaches itself (``network:``, ``usb:``, ``serial:``, ``file:``, ``pdf:``, ``dummy``):
  one worker per printer prints its jobs in order. Rendering and sending run off the hub (eventlet tpool,
  gevent's thread pool), a failed ticket is retried a few times, and a ticket too old to matter is dropped
  rather than printed for the next citizen in line;
* ``agent`` (or ``agent:<note>``): a printer on the kiosk PC. The job goes as ``print.job`` to the room
  ``display:<device id>``, where ``luot kiosk-agent`` prints it and answers ``print.ack``. Jobs it has not
  acknowledged are sent again, and again when the agent (re)connects (``print.hello``).

Printer status (online, offline, paper_out, unknown) lives in memory per kiosk and goes to the kiosk and to
``managers:<site>`` as ``printer.status`` when it changes; ``print.result`` tells how each job ended. These
events carry no ``seq``: they are not part of the site's queue event stream.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from flask_socketio import SocketIO

from server.clock import LOCAL_TZ, Clock
from server.db import Database
from server.domain.vocabulary import DeviceKind, priority_label
from server.off_hub import off_hub
from server.printing.agent_messages import PrintAck, PrinterReport, read_message
from server.printing.backends import NetworkBackend, PrinterBackend, PrinterError, PrinterStatus, open_printer
from server.printing.layout import Layout, load_builtin_layout
from server.printing.targets import PrinterTargets
from server.printing.ticket_data import TicketPrint
from server.socket_request import current_sid

log = logging.getLogger(__name__)

DEFAULT_LAYOUT = "ticket_80mm"
STATUSES = ("online", "offline", "paper_out", "unknown")
#: Printer errors that no retry can fix.
PERMANENT_ERRORS = frozenset({"invalid_spec", "layout_mismatch", "target_not_allowed"})
AGENT_UNREACHABLE = (
    "Máy in của kiosk không phản hồi (chương trình in trên máy kiosk không chạy?).",
    "The kiosk's printer does not answer (is the print agent on the kiosk PC running?).",
)
KEEP_SETTLED_JOBS = 500


@dataclass(frozen=True)
class RetryPolicy:
    retry_delays: tuple[float, ...] = (1.0, 3.0, 6.0)  # waits between attempts: 4 attempts in all
    max_age: float = 60.0  # seconds after which a ticket is no longer worth printing
    ack_timeout: float = 5.0  # an agent that has not confirmed receipt by then gets the job again
    agent_resends: int = 3
    probe_every: float = 15.0  # how often a printer reported down is asked whether it is back


def is_agent(spec: str) -> bool:
    return spec == "agent" or spec.startswith("agent:")


def status_for(code: str) -> str:
    """The printer status a PrinterError code means."""
    return "paper_out" if code == "paper_out" else "offline"


@lru_cache(maxsize=16)
def layout_named(name: str) -> Layout:
    """A bundled layout; an unknown name falls back to the 80 mm one (and says so in the log)."""
    try:
        return load_builtin_layout(name or DEFAULT_LAYOUT)
    except (FileNotFoundError, ValueError) as exc:
        log.warning("ticket layout %r: %s; using %s", name, exc, DEFAULT_LAYOUT)
        return load_builtin_layout(DEFAULT_LAYOUT)


# ------------------------------------------------------------------ ticket data


def _wait_note(payload: dict[str, Any]) -> str | None:
    """No counter open for the service: the ticket promises no minutes and says when one is expected."""
    if not payload.get("no_counter_open"):
        return None
    opens_at = payload.get("opens_at")
    if not opens_at:
        return "Chưa có quầy mở"
    return f"Chưa có quầy mở — dự kiến mở lúc {datetime.fromisoformat(opens_at).astimezone(LOCAL_TZ):%H:%M}"


def ticket_print(payload: dict[str, Any]) -> TicketPrint:
    """The printed ticket for an issue response (POST /api/v1/tickets)."""
    ahead = int(payload.get("waiting_ahead") or 0)
    code = payload.get("priority") or ""
    label = priority_label(code, "vi") if code else None
    return TicketPrint(
        centre_name=payload["site"]["name"],
        agency=payload["agency"]["name"],
        service=payload["service"]["name"],
        display_number=payload["display_number"],
        waiting_ahead=ahead,
        # "about 0 minutes" says nothing: the line is left out when nobody is ahead.
        estimated_wait_minutes=payload.get("estimated_wait_minutes") if ahead else None,
        wait_note=_wait_note(payload),
        issued_at=datetime.fromisoformat(payload["issued_at"]),
        counters=tuple(f"Quầy {number}" for number in payload.get("counters") or ()),
        tracking_url=payload.get("tracking_url") or "",
        priority_label=f"ƯU TIÊN · {label}" if label else None,
    )


def ticket_to_json(ticket: TicketPrint) -> dict[str, Any]:
    data = asdict(ticket)
    data["issued_at"] = ticket.issued_at.isoformat()
    data["counters"] = list(ticket.counters)
    return data


def ticket_from_json(data: dict[str, Any]) -> TicketPrint:
    fields = {
        **data,
        "issued_at": datetime.fromisoformat(data["issued_at"]),
        "counters": tuple(data.get("counters") or ()),
    }
    return TicketPrint(**fields)


# ------------------------------------------------------------------ state


@dataclass
class PrintJob:
    id: str
    ticket_id: int
    display_number: str
    device_id: int
    site_id: int
    printer: str
    layout: str
    ticket: TicketPrint
    created: float = field(default_factory=time.monotonic)
    status: str = "queued"  # queued, printing | sent, received (agent) → printed | failed | expired
    attempts: int = 0
    sends: int = 0
    error: str = ""
    settled: threading.Event = field(default_factory=threading.Event)

    def view(self) -> dict[str, Any]:
        return {
            "job_id": self.id,
            "ticket_id": self.ticket_id,
            "display_number": self.display_number,
            "device_id": self.device_id,
            "status": self.status,
            "attempts": self.attempts,
            "error": self.error,
        }


@dataclass(frozen=True)
class PrinterState:
    device_id: int
    site_id: int
    device_name: str
    printer: str
    status: str = "unknown"
    code: str = ""
    detail_vi: str = ""
    detail_en: str = ""
    version: int = 0
    at: str = ""

    def view(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "site_id": self.site_id,
            "device_name": self.device_name,
            "printer": self.printer,
            "status": self.status,
            "code": self.code,
            "detail": {"vi": self.detail_vi, "en": self.detail_en},
            "version": self.version,
            "at": self.at,
        }


class PrintService:
    """Print jobs and printer status for the kiosks of one server process."""

    def __init__(
        self,
        socketio: SocketIO,
        db: Database,
        clock: Clock,
        policy: RetryPolicy | None = None,
        printer_factory: Callable[[str], PrinterBackend] = open_printer,
        targets: PrinterTargets | None = None,
    ) -> None:
        self.socketio = socketio
        self.db = db
        self.clock = clock
        self.policy = policy or RetryPolicy()
        self.printer_factory = printer_factory
        self.targets = targets  # None: any target (tests, the kiosk agent); the server passes the operator's
        self._cond = threading.Condition(threading.RLock())
        self._jobs: OrderedDict[str, PrintJob] = OrderedDict()
        self._job_of_ticket: dict[int, str] = {}
        self._queues: dict[str, deque[PrintJob]] = {}
        self._draining: set[str] = set()
        self._probing: set[str] = set()
        self._backends: dict[str, PrinterBackend] = {}
        self._states: dict[int, PrinterState] = {}
        self._versions = itertools.count(1)
        self._closing = threading.Event()
        self.on_settled: list[Callable[[PrintJob], None]] = []  # told every job's end (metrics)

    def install(self) -> None:
        """Answer the agents' and kiosks' Socket.IO messages."""
        self.socketio.on_event("print.hello", self._on_hello)
        self.socketio.on_event("print.ack", self._on_ack)
        self.socketio.on_event("printer.report", self._on_report)
        self.socketio.on_event("printer.status.request", self._on_status_request)

    def close(self) -> None:
        """Stop retrying and probing (workers finish the attempt they are in)."""
        self._closing.set()

    # -------------------------------------------------------------- queries

    def job(self, job_id: str) -> PrintJob | None:
        with self._cond:
            return self._jobs.get(job_id)

    def job_for_ticket(self, ticket_id: int) -> PrintJob | None:
        with self._cond:
            job_id = self._job_of_ticket.get(ticket_id)
            return self._jobs.get(job_id) if job_id else None

    def state(self, device_id: int) -> PrinterState | None:
        with self._cond:
            return self._states.get(device_id)

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Block until `predicate()` holds after a job settles or a status is sent (or the timeout)."""
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    # -------------------------------------------------------------- issuing

    def after_issue(self, principal: Any, payload: dict[str, Any]) -> dict[str, Any] | None:
        """The `after_issue` hook: queue the ticket for the kiosk's printer; say so in the response."""
        if principal.kind != "device" or principal.device_kind != DeviceKind.KIOSK:
            return None
        spec = str(principal.settings.get("printer") or "").strip()
        if not spec:
            return {"print": {"status": "none"}}
        state = self._known_device(principal.id, principal.site_id, principal.name, spec)
        existing = self.job_for_ticket(int(payload["id"]))
        if existing is not None or payload.get("repeated"):
            # The same tap again (double tap, a retried request): that ticket printed once already.
            view = existing.view() if existing else {"status": "repeated"}
            return {"print": {**view, "printer": state.view()}}
        try:
            ticket = ticket_print(payload)
        except (KeyError, TypeError, ValueError) as exc:
            log.error("ticket %s cannot be printed: %s", payload.get("id"), exc)
            return {"print": {"status": "failed", "error": "bad_ticket", "printer": state.view()}}
        job = PrintJob(
            id=uuid.uuid4().hex[:16],
            ticket_id=int(payload["id"]),
            display_number=str(payload["display_number"]),
            device_id=principal.id,
            site_id=principal.site_id,
            printer=spec,
            layout=str(principal.settings.get("layout") or DEFAULT_LAYOUT),
            ticket=ticket,
        )
        self._remember(job)
        if is_agent(spec):
            job.status = "sent"
        view = job.view()  # as handed over: the worker may have moved on by the time the response leaves
        if is_agent(spec):
            self._send_to_agent(job)
            self.socketio.start_background_task(self._watch_agent_job, job)
        else:
            self._enqueue(job)
        return {"print": {**view, "printer": state.view()}}

    def _known_device(self, device_id: int, site_id: int, name: str, spec: str) -> PrinterState:
        with self._cond:
            state = self._states.get(device_id)
            if state is None or state.printer != spec:
                state = PrinterState(
                    device_id, site_id, name, spec, version=next(self._versions), at=self.clock.now().isoformat()
                )
                self._states[device_id] = state
            return state

    def _remember(self, job: PrintJob) -> None:
        with self._cond:
            self._jobs[job.id] = job
            self._job_of_ticket[job.ticket_id] = job.id
            while len(self._jobs) > KEEP_SETTLED_JOBS:
                oldest = next(iter(self._jobs.values()))
                if not oldest.settled.is_set():
                    break
                del self._jobs[oldest.id]
                self._job_of_ticket.pop(oldest.ticket_id, None)

    def _expired(self, job: PrintJob) -> bool:
        return time.monotonic() - job.created > self.policy.max_age

    # -------------------------------------------------------------- printers the server reaches

    def _enqueue(self, job: PrintJob) -> None:
        with self._cond:
            self._queues.setdefault(job.printer, deque()).append(job)
            if job.printer in self._draining:
                return
            self._draining.add(job.printer)
        self.socketio.start_background_task(self._drain, job.printer)

    def _drain(self, spec: str) -> None:
        """One worker per printer: its jobs in order, each with its retries."""
        while True:
            with self._cond:
                queue = self._queues.get(spec)
                if not queue:
                    self._draining.discard(spec)
                    self._queues.pop(spec, None)
                    return
                job = queue.popleft()
            try:
                self._print(job)
            except Exception:  # the worker must outlive any single job
                log.exception("print job %s failed unexpectedly", job.id)
                job.status, job.error = "failed", "internal_error"
                self._settle(job)

    def _print(self, job: PrintJob) -> None:
        for delay in (0.0, *self.policy.retry_delays):
            if delay and self._closing.wait(delay):
                break
            if self._expired(job):
                job.status = "expired"
                break
            job.attempts += 1
            job.status = "printing"
            try:
                backend = self._backend(job.printer)
                self._offload(backend.print_ticket, job.ticket, layout_named(job.layout))
            except PrinterError as exc:
                log.warning("ticket %s on %s, attempt %d: %s", job.display_number, job.printer, job.attempts, exc)
                job.error = exc.code
                self._set_state(job.device_id, status_for(exc.code), exc.code, exc.message_vi, exc.message_en)
                if exc.code in PERMANENT_ERRORS:
                    break
                continue
            job.status, job.error = "printed", ""
            self._set_state(job.device_id, "online")
            break
        if job.status not in ("printed", "expired"):
            job.status = "failed"
        self._settle(job)
        if job.status != "printed":
            self._start_probe(job.printer)

    def _backend(self, spec: str) -> PrinterBackend:
        """One backend per printer, kept: it learns whether the printer answers status queries.

        The target is checked against the operator's allowance every time (the setting may predate the rule,
        the folder may have become a symbolic link): PrinterError("target_not_allowed") otherwise."""
        addresses = self._offload(self.targets.check, spec) if self.targets is not None else []  # may resolve
        with self._cond:
            backend = self._backends.get(spec)
            if backend is None:
                backend = self._backends[spec] = self.printer_factory(spec)
            if addresses and isinstance(backend, NetworkBackend):
                backend.host = addresses[0]  # the address just checked, not the name resolved again
            return backend

    def _offload(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run rendering and printer I/O on a real thread so the hub keeps serving (eventlet, gevent)."""
        return off_hub(self.socketio.async_mode, function, *args)

    def _start_probe(self, spec: str) -> None:
        with self._cond:
            if spec in self._probing or is_agent(spec):
                return
            self._probing.add(spec)
        self.socketio.start_background_task(self._probe, spec)

    def _probe(self, spec: str) -> None:
        """Ask a printer reported down, now and then, whether it is back (paper refilled, cable plugged)."""
        try:
            while not self._closing.wait(self.policy.probe_every):
                with self._cond:
                    devices = [s for s in self._states.values() if s.printer == spec]
                    busy = spec in self._draining  # a job's outcome will tell
                if not devices or all(s.status == "online" for s in devices):
                    return
                if busy:
                    continue
                backend = self._backend(spec)
                if not getattr(backend, "can_query", True):
                    return  # a device file cannot be asked: the next ticket will tell
                answer = self._offload(backend.status)
                for state in devices:
                    if answer == PrinterStatus.ONLINE or (
                        answer == PrinterStatus.UNKNOWN and state.status == "offline"
                    ):
                        self._set_state(state.device_id, "online")
                    elif answer == PrinterStatus.PAPER_OUT:
                        self._set_state(state.device_id, "paper_out", "paper_out", *_paper_out_text())
        except Exception:
            log.exception("probing printer %s failed", spec)
        finally:
            with self._cond:
                self._probing.discard(spec)

    # -------------------------------------------------------------- printers on the kiosk PC (agent)

    def _job_message(self, job: PrintJob) -> dict[str, Any]:
        remaining = max(0.0, self.policy.max_age - (time.monotonic() - job.created))
        return {
            "job_id": job.id,
            "ticket_id": job.ticket_id,
            "display_number": job.display_number,
            "layout": job.layout,
            "ticket": ticket_to_json(job.ticket),
            "expires_in": round(remaining, 1),
            "send": job.sends,
        }

    def _send_to_agent(self, job: PrintJob) -> None:
        job.sends += 1
        self.socketio.emit("print.job", self._job_message(job), to=f"display:{job.device_id}")
        with self._cond:
            self._cond.notify_all()

    def _watch_agent_job(self, job: PrintJob) -> None:
        """Send the job again until the agent confirms receipt; give up when it is too old."""
        while not job.settled.wait(self.policy.ack_timeout):
            if self._closing.is_set():
                return
            if job.status == "received" and not self._expired(job):
                continue  # the agent has it and is printing or retrying
            if self._expired(job) or job.sends > self.policy.agent_resends:
                job.status, job.error = "failed", "agent_timeout"
                self._set_state(job.device_id, "offline", "agent_unreachable", *AGENT_UNREACHABLE)
                self._settle(job)
                return
            self._send_to_agent(job)

    def _sender(self) -> tuple[int | None, int | None, bool]:
        """(device id, site id, is manager) of the Socket.IO client sending the current message."""
        rooms = self.socketio.server.rooms(current_sid(), namespace="/")
        device = next((int(r[8:]) for r in rooms if r.startswith("display:")), None)
        site = next((int(r[5:]) for r in rooms if r.startswith("site:")), None)
        return device, site, any(r.startswith("managers:") for r in rooms)

    def _on_hello(self, data: Any = None) -> dict[str, Any]:
        """An agent (re)connects: its pending jobs are sent again, and its printer report applied. A malformed
        report is not applied (``"refused": "<field>"`` in the answer), the jobs are still sent."""
        device_id, _site, _manager = self._sender()
        if device_id is None:
            return {"ok": False, "error": "not_a_device"}
        report, problem = read_message(PrinterReport, {} if data is None else data)
        if report is not None:
            self._report_from_agent(device_id, report)
        else:
            log.warning("print.hello of device %s: malformed report (%s), not applied", device_id, problem)
        with self._cond:
            pending = [
                j
                for j in self._jobs.values()
                if j.device_id == device_id and not j.settled.is_set() and is_agent(j.printer) and not self._expired(j)
            ]
        for job in pending:
            self._send_to_agent(job)
        answer: dict[str, Any] = {"ok": True, "device_id": device_id, "pending": len(pending)}
        return answer if report is not None else {**answer, "refused": problem}

    def _on_ack(self, data: Any = None) -> dict[str, Any]:
        """A job's receipt or outcome from its agent (`PrintAck`). Answers ``{"ok": true}``, or ``{"ok": false,
        "error": "invalid_ack", "field": …}`` for a malformed ack, ``"unknown_job"`` for another device's or an
        unknown job, ``"unknown_state"``: the job is then left as it was."""
        device_id, _site, _manager = self._sender()
        ack, problem = read_message(PrintAck, data)
        if ack is None:
            log.warning("print.ack of device %s refused: %s is not valid", device_id, problem)
            return {"ok": False, "error": "invalid_ack", "field": problem}
        job = self.job(ack.job_id)
        if job is None or device_id is None or job.device_id != device_id:
            return {"ok": False, "error": "unknown_job"}
        if ack.state == "received":
            if job.status == "sent":
                job.status = "received"
            return {"ok": True}
        if ack.state not in ("printed", "failed", "expired"):
            return {"ok": False, "error": "unknown_state"}
        job.status = ack.state
        job.attempts = ack.attempts or job.attempts
        job.error = (ack.code or "") if ack.state != "printed" else ""
        self._report_from_agent(device_id, ack)
        self._settle(job)
        return {"ok": True}

    def _on_report(self, data: Any = None) -> dict[str, Any]:
        """The agent's printer changed (`PrinterReport`); a malformed report is refused, naming its field."""
        device_id, _site, _manager = self._sender()
        if device_id is None:
            return {"ok": False, "error": "not_a_device"}
        report, problem = read_message(PrinterReport, {} if data is None else data)
        if report is None:
            return {"ok": False, "error": "invalid_report", "field": problem}
        self._report_from_agent(device_id, report)
        return {"ok": True}

    def _report_from_agent(self, device_id: int, report: PrinterReport) -> None:
        if report.status not in STATUSES or report.status == "unknown":
            return
        if self.state(device_id) is None and not self._load_device(device_id):
            return
        self._set_state(device_id, report.status, report.code or "", report.message_vi or "", report.message_en or "")

    # -------------------------------------------------------------- status

    def _on_status_request(self, data: dict[str, Any] | None = None) -> None:
        """A kiosk asks for its printer's status, a manager for all of the site's."""
        device_id, site_id, manager = self._sender()
        if device_id is not None and self.state(device_id) is None:
            self._load_device(device_id)
        with self._cond:
            states = [
                s for s in self._states.values() if s.device_id == device_id or (manager and s.site_id == site_id)
            ]
        for state in states:
            self.socketio.emit("printer.status", state.view(), to=current_sid())

    def _load_device(self, device_id: int) -> PrinterState | None:
        from server.models import Device

        with self.db.read() as db_session:
            device = db_session.get(Device, device_id)
        if device is None or device.kind != DeviceKind.KIOSK or not (device.settings or {}).get("printer"):
            return None
        return self._known_device(device.id or 0, device.site_id, device.name, str(device.settings["printer"]))

    def _set_state(self, device_id: int, status: str, code: str = "", detail_vi: str = "", detail_en: str = "") -> None:
        with self._cond:
            state = self._states.get(device_id)
            if state is None or (state.status, state.code) == (status, code):
                return
            state = replace(
                state,
                status=status,
                code=code,
                detail_vi=detail_vi,
                detail_en=detail_en,
                version=next(self._versions),
                at=self.clock.now().isoformat(),
            )
            self._states[device_id] = state
        if status != "online":
            log.warning("printer of %s (%s): %s %s", state.device_name, state.printer, status, code)
        self._publish("printer.status", state.view(), state.device_id, state.site_id)

    def _settle(self, job: PrintJob) -> None:
        for watcher in self.on_settled:
            watcher(job)
        self._publish("print.result", job.view(), job.device_id, job.site_id)
        job.settled.set()
        with self._cond:
            self._cond.notify_all()

    def _publish(self, name: str, payload: dict[str, Any], device_id: int, site_id: int) -> None:
        self.socketio.emit(name, payload, to=[f"display:{device_id}", f"managers:{site_id}"])
        with self._cond:
            self._cond.notify_all()


def _paper_out_text() -> tuple[str, str]:
    error = PrinterError("paper_out")
    return error.message_vi, error.message_en
