"""Committed events leave after the request's answer, in commit order (`server.after_answer`, issue 13)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from server.after_answer import AfterAnswer

ROOT = Path(__file__).resolve().parents[2]


class Spawned:
    """The green threads asked for, run when the test says (the edge: a hub's scheduling)."""

    def __init__(self) -> None:
        self.waiting: list = []

    def __call__(self, function) -> None:
        self.waiting.append(function)

    def run_all(self) -> None:
        while self.waiting:
            self.waiting.pop(0)()


def test_under_threading_the_events_are_sent_at_once():
    sent: list = []
    outgoing = AfterAnswer(sent.append, Spawned(), defer=False)
    outgoing(["a"])
    assert sent == [["a"]]


def test_deferred_events_wait_for_the_sender_and_keep_commit_order():
    sent: list = []
    spawned = Spawned()
    outgoing = AfterAnswer(sent.append, spawned, defer=True)
    outgoing(["call 1"])
    outgoing(["call 2"])
    assert sent == [] and outgoing.pending == 2 and len(spawned.waiting) == 1  # one sender for the burst
    spawned.run_all()
    assert sent == [["call 1"], ["call 2"]] and outgoing.pending == 0
    outgoing(["call 3"])  # the sender ended: the next commit schedules another
    assert len(spawned.waiting) == 1
    spawned.run_all()
    assert sent[-1] == ["call 3"]


def test_flush_sends_the_queue_before_a_snapshot_reads_the_position():
    sent: list = []
    spawned = Spawned()
    outgoing = AfterAnswer(sent.append, spawned, defer=True)
    outgoing(["a"])
    outgoing(["b"])
    outgoing.flush()
    assert sent == [["a"], ["b"]]
    spawned.run_all()  # the scheduled sender finds nothing left: nothing twice
    assert sent == [["a"], ["b"]]


def test_a_failed_send_is_logged_and_the_next_transaction_still_goes(caplog):
    sent: list = []
    lags: list = []

    def send(events):
        if events == ["bad"]:
            raise RuntimeError("socket gone")
        sent.append(events)

    spawned = Spawned()
    outgoing = AfterAnswer(send, spawned, defer=True)
    outgoing.on_sent = lambda events, seconds: lags.append((events, seconds))
    outgoing(["bad"])
    outgoing(["good"])
    spawned.run_all()
    assert sent == [["good"]] and "could not be sent" in caplog.text
    assert [events for events, _ in lags] == [["bad"], ["good"]] and all(s >= 0 for _, s in lags)


def test_under_eventlet_the_request_answers_before_its_events_are_sent():
    """A real hub: the committing green thread runs on (writes its answer) before the sender runs."""
    script = textwrap.dedent(
        """
        import eventlet
        eventlet.monkey_patch()
        from server.after_answer import AfterAnswer
        log = []
        outgoing = AfterAnswer(lambda events: log.append(("sent", events)), eventlet.spawn, defer=True)
        def request():
            outgoing(["called"])
            log.append(("answered", None))  # the answer is written without yielding
        eventlet.spawn(request).wait()
        eventlet.sleep(0)
        eventlet.sleep(0)
        print(log)
        assert log == [("answered", None), ("sent", ["called"])], log
        """
    )
    done = subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr + done.stdout


def test_a_flush_sends_what_was_queued_when_it_began_not_a_stream_of_later_commits():
    sent: list = []
    spawned = Spawned()
    outgoing = AfterAnswer(lambda events: (sent.append(events), events == ["a"] and outgoing(["later"])), spawned, True)
    outgoing(["a"])
    outgoing(["b"])
    outgoing.flush()  # "later" is committed while "a" is sent: the scheduled run sends it, not this flush
    assert sent == [["a"], ["b"]] and outgoing.pending == 1
    spawned.run_all()
    assert sent[-1] == ["later"] and outgoing.pending == 0


def test_a_failing_sent_hook_neither_stops_the_queue_nor_reaches_the_caller(caplog):
    sent: list = []
    spawned = Spawned()
    outgoing = AfterAnswer(sent.append, spawned, defer=True)
    outgoing.on_sent = lambda events, seconds: 1 / 0
    outgoing(["a"])
    outgoing(["b"])
    spawned.run_all()
    assert sent == [["a"], ["b"]] and "hook failed" in caplog.text
