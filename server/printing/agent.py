"""`luot kiosk-agent`: prints a kiosk's tickets on a printer attached to the kiosk PC (USB, serial, …).

The kiosk's device setting ``printer = "agent"`` makes the server send each ticket as a ``print.job`` event
to the room display:<device id>. This agent connects with the kiosk's own device token, so it is in that
room, and for each job:

* confirms receipt at once (``print.ack`` state "received"); the server sends unconfirmed jobs again;
* prints it with the local backend (server.printing), retrying a failed ticket a few times while it is
  still worth printing (``expires_in``), and never prints the same job twice (jobs sent again are
  answered from memory);
* answers ``print.ack`` with the outcome (printed, failed, expired); an answer the server did not
  confirm is sent again after a reconnect (``print.hello``);
* reports its printer's status (``printer.report``: online, offline, paper_out) whenever it changes,
  and checks a printer reported down every ``probe_every`` seconds until it is back.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import socketio

from server.clock import LOG_FORMAT, LocalTimeFormatter
from server.failure_log import FailureLog
from server.printing.backends import PrinterBackend, PrinterError, PrinterStatus, open_printer
from server.printing.jobs import DEFAULT_LAYOUT, PERMANENT_ERRORS, layout_named, status_for, ticket_from_json

log = logging.getLogger(__name__)

REMEMBERED_JOBS = 1000


class KioskAgent:
    def __init__(
        self,
        server_url: str,
        token: str,
        printer: str,
        *,
        retry_delays: Sequence[float] = (1.0, 3.0, 6.0),
        probe_every: float = 15.0,
        printer_factory: Callable[[str], PrinterBackend] = open_printer,
    ) -> None:
        self.server_url = server_url.rstrip("/")
        self.token = token
        self.printer = printer
        self.backend = printer_factory(printer)  # a malformed spec fails here, at start-up
        self.retry_delays = tuple(retry_delays)
        self.probe_every = probe_every
        self.status = "unknown"
        self.detail: tuple[str, str, str] = ("", "", "")  # code, Vietnamese, English
        self.sio = socketio.Client(
            reconnection=True,
            reconnection_attempts=0,
            reconnection_delay=0.5,
            reconnection_delay_max=10,
            randomization_factor=0.3,
            logger=False,
            engineio_logger=False,
        )
        self.sio.on("connect", self._on_connect)
        self.sio.on("print.job", self._on_job)
        self._lock = threading.Lock()
        self._jobs: queue.Queue[tuple[str, dict[str, Any], float]] = queue.Queue()
        self._seen: OrderedDict[str, dict[str, Any] | None] = OrderedDict()  # job → final answer (None: busy)
        self._unacked: dict[str, dict[str, Any]] = {}
        self._stop = threading.Event()
        self.connected = threading.Event()

    # ------------------------------------------------------------------ running

    def run(self) -> None:
        """Connect (again and again) and print until `stop()`."""
        threading.Thread(target=self._work, name="kiosk-agent-print", daemon=True).start()
        threading.Thread(target=self._probe_loop, name="kiosk-agent-probe", daemon=True).start()
        self._check_printer()
        delay = 0.5
        while not self._stop.is_set():
            try:
                self.sio.connect(self.server_url, auth={"token": self.token}, transports=["websocket"], wait_timeout=10)
            except socketio.exceptions.ConnectionError as exc:
                log.warning("cannot reach %s (%s); trying again in %.1f s", self.server_url, exc, delay)
                if self._stop.wait(delay):
                    break
                delay = min(delay * 2, 10.0)
                continue
            delay = 0.5
            if self._stop.is_set():
                break
            self.sio.wait()  # returns when the connection is over for good (stop, or reconnection gave up)
        self.sio.shutdown()

    def stop(self) -> None:
        self._stop.set()
        self.sio.shutdown()

    # ------------------------------------------------------------------ Socket.IO

    def _on_connect(self) -> None:
        log.info("connected to %s", self.server_url)
        self.sio.start_background_task(self._hello)

    def _hello(self) -> None:
        self._emit("print.hello", {"printer": self.printer, **self._status_message()})
        with self._lock:
            answers = list(self._unacked.values())
        for answer in answers:
            self._send_answer(answer)
        self.connected.set()

    def _on_job(self, data: dict[str, Any]) -> None:
        job_id = str((data or {}).get("job_id") or "")
        if not job_id:
            return
        with self._lock:
            known = job_id in self._seen
            answer = self._seen.get(job_id)
            if not known:
                self._seen[job_id] = None
                while len(self._seen) > REMEMBERED_JOBS:
                    self._seen.popitem(last=False)
        if known and answer is not None:
            self._send_answer(answer)  # printed (or given up) already: say so again, print nothing
            return
        self._emit("print.ack", {"job_id": job_id, "state": "received"})
        if not known:
            deadline = time.monotonic() + float(data.get("expires_in") or 60)
            self._jobs.put((job_id, data, deadline))

    def _emit(self, event: str, data: dict[str, Any], callback: Callable[..., Any] | None = None) -> bool:
        try:
            self.sio.emit(event, data, callback=callback)
        except socketio.exceptions.SocketIOError as exc:  # not connected: sent again after the reconnect
            log.info("%s not sent now: %s", event, exc)
            return False
        return True

    def _send_answer(self, answer: dict[str, Any]) -> None:
        job_id = answer["job_id"]

        def confirmed(*_reply: Any) -> None:
            with self._lock:
                self._unacked.pop(job_id, None)

        self._emit("print.ack", answer, callback=confirmed)

    # ------------------------------------------------------------------ printing

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                job_id, data, deadline = self._jobs.get(timeout=0.5)
            except queue.Empty:
                continue
            try:
                answer = self._print(job_id, data, deadline)
            except Exception as exc:  # the worker must outlive any single job
                log.exception("print job %s failed unexpectedly", job_id)
                answer = {"job_id": job_id, "state": "failed", "attempts": 0, "code": type(exc).__name__}
            if answer is None:
                return  # stopping
            with self._lock:
                self._seen[job_id] = answer
                self._unacked[job_id] = answer
            self._send_answer(answer)

    def _print(self, job_id: str, data: dict[str, Any], deadline: float) -> dict[str, Any] | None:
        ticket = ticket_from_json(data["ticket"])
        layout = layout_named(str(data.get("layout") or DEFAULT_LAYOUT))
        state, attempts, error = "failed", 0, None
        for delay in (0.0, *self.retry_delays):
            if delay and self._stop.wait(delay):
                return None
            if time.monotonic() > deadline:
                state = "expired"
                break
            attempts += 1
            try:
                self.backend.print_ticket(ticket, layout)
            except PrinterError as exc:
                log.warning("ticket %s, attempt %d: %s", data.get("display_number"), attempts, exc)
                error = exc
                self._set_status(status_for(exc.code), exc)
                if exc.code in PERMANENT_ERRORS:
                    break
                continue
            state, error = "printed", None
            self._set_status("online")
            log.info("printed ticket %s (job %s)", data.get("display_number"), job_id)
            break
        answer = {"job_id": job_id, "state": state, "attempts": attempts, **self._status_message()}
        if error is not None:
            answer.update(code=error.code, message_vi=error.message_vi, message_en=error.message_en)
        return answer

    # ------------------------------------------------------------------ printer status

    def _status_message(self) -> dict[str, Any]:
        code, vi, en = self.detail
        return {"status": self.status, "code": code, "message_vi": vi, "message_en": en}

    def _set_status(self, status: str, error: PrinterError | None = None) -> None:
        detail = (error.code, error.message_vi, error.message_en) if error else ("", "", "")
        with self._lock:
            if (status, detail[0]) == (self.status, self.detail[0]):
                return
            self.status, self.detail = status, detail
        log.log(
            logging.INFO if status == "online" else logging.WARNING,
            "printer %s: %s %s",
            self.printer,
            status,
            detail[0],
        )
        self._emit("printer.report", self._status_message())

    def _check_printer(self) -> None:
        if not getattr(self.backend, "can_query", True):
            return  # a device file cannot be asked: the next ticket will tell
        answer = self.backend.status()
        if answer == PrinterStatus.ONLINE or (answer == PrinterStatus.UNKNOWN and self.status == "offline"):
            self._set_status("online")
        elif answer == PrinterStatus.PAPER_OUT:
            self._set_status("paper_out", PrinterError("paper_out"))
        elif answer == PrinterStatus.OFFLINE:
            self._set_status("offline", PrinterError("printer_offline"))

    def _probe_loop(self) -> None:
        failures = FailureLog(log, "checking the printer")
        while not self._stop.wait(self.probe_every):
            if self.status in ("offline", "paper_out"):
                try:
                    self._check_printer()
                except Exception as exc:
                    failures.failed(exc, f"again in {self.probe_every:g} s")
                else:
                    failures.worked()


def main(
    server_url: str, token: str, printer: str, *, retries: int = 3, retry_delay: float = 1.0, probe_every: float = 15.0
) -> None:
    """The `luot kiosk-agent` command."""
    handler = logging.StreamHandler()
    handler.setFormatter(LocalTimeFormatter(LOG_FORMAT))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    delays = [retry_delay * 2**attempt for attempt in range(retries)]
    agent = KioskAgent(server_url, token, printer, retry_delays=delays, probe_every=probe_every)
    log.info("kiosk agent for %s, printing on %s", server_url, printer)
    try:
        agent.run()
    except KeyboardInterrupt:
        agent.stop()
