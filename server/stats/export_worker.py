"""Builds a history export (CSV, Excel, PDF) in a child process: `python -m server.stats.export_worker`.

Reading a year of history and laying out a PDF is pure Python: inside the server it would hold the GIL for
seconds and the hall boards would stutter, even from a native thread. So the dashboard hands the work to a
fresh interpreter: the job (filters, the instant, the words around the figures, the database settings) goes
in as JSON on stdin, the file comes out on stdout. A failure exits non-zero with the traceback on stderr.
The child lowers its CPU priority before loading SQLAlchemy and reportlab (so this module imports them
lazily), and only reads: on SQLite its connections are `query_only`. No Flask here. A finished day still
without a roll-up is counted from the event log (`history(..., from_log=True)`): a download is never missing a
day, however many the request could not roll up in its bounded time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from server.db import Database
    from server.settings import Settings
    from server.stats.feedback import FeedbackFilters
    from server.stats.queries import Filters

TIMEOUT = 300.0  # seconds a child may take before it is killed
NICENESS = 10  # on a small hall server the boards' requests come first
COMMAND = [sys.executable, "-m", "server.stats.export_worker"]
ROOT = Path(__file__).resolve().parents[2]  # the folder that holds the `server` package


class ExportFailed(Exception):
    """The child failed or ran out of time; the message (the child's stderr) is for the log, not the user."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


@dataclass(frozen=True)
class Job:
    """Everything an export needs besides the database; the words are already in `language`."""

    kind: str  # a key of exports.BUILDERS
    filters: Filters
    now: datetime
    title: str
    scope: list[tuple[str, str]]
    language: str
    #: "header": the site's report words (ReportHeader.to_json); "separator": "," or ";" (CSV)
    options: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        filters = {
            k: (v.isoformat() if isinstance(v, date) else list(v) if isinstance(v, tuple) else v)
            for k, v in asdict(self.filters).items()
        }
        return {
            "kind": self.kind,
            "filters": filters,
            "now": self.now.isoformat(),
            "title": self.title,
            "scope": [list(line) for line in self.scope],
            "language": self.language,
            "options": self.options,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Job:
        from server.stats.queries import Filters

        raw = dict(data["filters"])
        filters = Filters(
            **{
                **raw,
                "first": date.fromisoformat(raw["first"]),
                "last": date.fromisoformat(raw["last"]),
                "site_ids": tuple(raw["site_ids"]),
            }
        )
        return cls(
            data["kind"],
            filters,
            datetime.fromisoformat(data["now"]),
            data["title"],
            [(label, value) for label, value in data["scope"]],
            data["language"],
            dict(data.get("options") or {}),
        )


def settings_json(settings: Settings) -> dict[str, Any]:
    """The server's database location, resolved (the child's working folder and environment do not matter:
    a test app built from overrides is found too), and how SQLite connections are set up."""
    return {
        "instance_dir": str(settings.instance_path),
        "database_url": settings.resolved_database_url,
        "sqlite_synchronous": settings.sqlite_synchronous,
    }


# ---------------------------------------------------------------- in the server


def run(settings: Settings, job: Job, timeout: float | None = None) -> bytes:
    """Builds `job` in a child process and returns the file.

    Under eventlet/gevent the standard `subprocess` is the patched, cooperative one: writing the job, reading
    the file and waiting for the exit yield to the hub, so no native thread is needed. Under threading it
    blocks only the request's own thread. Raises ExportFailed on a non-zero exit or after `timeout`."""
    payload = json.dumps({"settings": settings_json(settings), "job": job.to_json()}).encode()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    try:
        done = subprocess.run(
            COMMAND,
            input=payload,
            capture_output=True,
            env=env,
            timeout=TIMEOUT if timeout is None else timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:  # run() has killed the child
        raise ExportFailed(f"export worker timed out after {exc.timeout} s", timed_out=True) from None
    except OSError as exc:
        raise ExportFailed(f"export worker could not start: {exc}") from None
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip()[-2000:]
        raise ExportFailed(f"export worker exited with {done.returncode}: {tail or '(no message)'}")
    return done.stdout


# ---------------------------------------------------------------- in the child


def read_only(db: Database) -> None:
    """Every connection the child opens refuses writes (SQLite's query_only; PostgreSQL read-only sessions)."""
    from sqlalchemy import event

    statement = "PRAGMA query_only=ON" if db.is_sqlite else "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"

    @event.listens_for(db.engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()
        if not db.is_sqlite:
            dbapi_connection.commit()


def build(job: Job, settings: Settings) -> bytes:
    """The figures and the file: what the child does (callable in-process too, e.g. to compare outputs)."""
    from server.db import Database
    from server.stats import exports
    from server.stats.feedback import feedback
    from server.stats.queries import history

    db = Database(settings)
    read_only(db)
    try:
        with db.read() as session:
            result = history(session, job.filters, job.now, from_log=True)  # every day, rolled up or not
            said = feedback(session, feedback_filters(job.filters))
    finally:
        db.dispose()
    from server.clock import local_date
    from server.stats.report_header import ReportHeader

    report = exports.Report(
        result,
        job.title,
        job.scope,
        job.language,
        said,
        header=ReportHeader.from_json(job.options.get("header")),
        printed_on=local_date(job.now),
        separator=";" if job.options.get("separator") == ";" else ",",
    )
    return exports.BUILDERS[job.kind](report)


def feedback_filters(filters: Filters) -> FeedbackFilters:
    """The history's filters, for the ratings' reasons and comments in the downloads."""
    from server.stats.feedback import FeedbackFilters

    return FeedbackFilters.of(filters)


def main() -> int:
    """The child's entry point: JSON job on stdin, the file on stdout, exit status 0 or 1."""
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not end up inside the file
    if hasattr(os, "nice"):
        os.nice(NICENESS)
    try:
        from server.settings import load_settings

        payload = json.loads(sys.stdin.buffer.read())
        settings = load_settings(environ={}, **payload["settings"])
        body = build(Job.from_json(payload["job"]), settings)
    except Exception:
        traceback.print_exc()
        return 1
    out.write(body)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
