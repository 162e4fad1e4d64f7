"""A citizen's phone may send a request again when its answer was lost (mobile data drops after the server
committed): with the same Idempotency-Key, a number for today, a booking, a move and a cancellation are each made
once and the repeat gets what the first made (the same ticket, the same booking and link), never a refusal of
it; the same key for another request is 409 `idempotency_conflict`. A booking's messages go only to the phone the
citizen proved, its link moves it at most MAX_LINK_MOVES times, and it sends at most MAX_CHANGE_NOTICES change
messages (the outside tester's 31 texts to a stranger's phone from one booking)."""

from __future__ import annotations

from sqlmodel import select

from server.domain.booking_rules import MAX_CHANGE_NOTICES, MAX_LINK_MOVES
from server.models import Appointment, OutboxMessage, Ticket
from tests.integration.test_booking_admin import at, citizen, make_bookable, outbox
from tests.support.api import bearer, staff_token
from tests.support.citizens import enable_sms

KEY = {"Idempotency-Key": "book-0123456789abcdef"}


def test_a_number_for_today_asked_again_with_its_key_is_the_same_ticket(client, luot, world, clock):
    make_bookable(luot, world)
    make_bookable(luot, world, "CA-X")
    clock.set(at(8))
    citizen(client, "a", "+84912345678")
    first = client.post("/book/HN/online", json={"service": "TP-A"}, headers=KEY)
    assert first.status_code == 201, first.get_json()
    again = client.post("/book/HN/online", json={"service": "TP-A"}, headers=KEY)
    assert again.status_code == 200 and again.get_json()["repeated"] is True
    assert again.get_json()["tracking_token"] == first.get_json()["tracking_token"]
    other = client.post("/book/HN/online", json={"service": "CA-X"}, headers=KEY)
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "idempotency_conflict"
    assert set(other.get_json()["error"]["messages"]) == {"vi", "en"}
    without = client.post("/book/HN/online", json={"service": "TP-A"})  # what the page did: refused, number lost
    assert without.status_code == 409 and without.get_json()["error"]["code"] == "person_service_limit"
    too_long = client.post("/book/HN/online", json={"service": "CA-X"}, headers={"Idempotency-Key": "k" * 129})
    assert too_long.status_code == 400 and set(too_long.get_json()["error"]["messages"]) == {"vi", "en"}
    with luot.db.read() as session:
        assert len(session.exec(select(Ticket)).all()) == 1


def test_a_booking_asked_again_with_its_key_is_the_same_booking_and_link(client, luot, world, clock):
    make_bookable(luot, world)
    enable_sms(luot, world.site_id)
    clock.set(at(8))
    citizen(client, "b", "+84912345678")
    body = {"service": "TP-A", "slot": at(9).isoformat(), "card": "001099012345"}
    first = client.post("/book/HN/bookings", json=body, headers=KEY)
    assert first.status_code == 201, first.get_json()
    again = client.post("/book/HN/bookings", json=body, headers=KEY)
    assert again.status_code == 200, again.get_json()
    assert (again.get_json()["secret"], again.get_json()["link"]) == (
        first.get_json()["secret"],
        first.get_json()["link"],
    )
    assert again.get_json()["booking"]["code"] == first.get_json()["booking"]["code"] and again.get_json()["repeated"]
    assert len(first.get_json()["secret"]) == 32
    assert client.get(f"/book/HN/b/{again.get_json()['secret']}").status_code == 200  # the link works
    other = client.post("/book/HN/bookings", json={**body, "slot": at(9, 15).isoformat()}, headers=KEY)
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "idempotency_conflict"
    assert set(other.get_json()["error"]["messages"]) == {"vi", "en"}
    without = client.post("/book/HN/bookings", json=body)  # what the page did: refused, link lost
    assert without.status_code == 409 and without.get_json()["error"]["code"] == "person_service_limit"
    citizen(client, "c", "+84912345679")  # another citizen's same key is their own request
    theirs = client.post("/book/HN/bookings", json={**body, "card": None, "slot": at(9, 30).isoformat()}, headers=KEY)
    assert theirs.status_code == 201, theirs.get_json()
    assert theirs.get_json()["secret"] != first.get_json()["secret"]
    with luot.db.read() as session:
        assert len(session.exec(select(Appointment)).all()) == 2
    assert [kind for kind, _ in outbox(luot)] == ["booking_confirmed", "booking_confirmed"]  # one each


def test_a_move_or_cancellation_asked_again_with_its_key_answers_the_booking(client, luot, world, clock):
    make_bookable(luot, world)
    enable_sms(luot, world.site_id)
    clock.set(at(8))
    citizen(client, "b", "+84912345678")
    made = client.post("/book/HN/bookings", json={"service": "TP-A", "slot": at(9).isoformat()})
    link = f"/book/HN/b/{made.get_json()['secret']}"
    moving = {"Idempotency-Key": "book-move-1"}
    assert client.post(f"{link}/move", json={"slot": at(9, 15).isoformat()}, headers=moving).status_code == 200
    repeated = client.post(f"{link}/move", json={"slot": at(9, 15).isoformat()}, headers=moving)
    assert repeated.status_code == 200 and repeated.get_json()["booking"]["time"] == "09:15"
    elsewhere = client.post(f"{link}/move", json={"slot": at(9, 30).isoformat()}, headers=moving)
    assert elsewhere.status_code == 409 and elsewhere.get_json()["error"]["code"] == "idempotency_conflict"
    not_a_cancel = client.post(f"{link}/cancel", json={}, headers=moving)
    assert not_a_cancel.status_code == 409 and not_a_cancel.get_json()["error"]["code"] == "idempotency_conflict"
    cancelling = {"Idempotency-Key": "book-cancel-1"}
    assert client.post(f"{link}/cancel", json={}, headers=cancelling).status_code == 200
    again = client.post(f"{link}/cancel", json={}, headers=cancelling)
    assert again.status_code == 200 and again.get_json()["booking"]["status"] == "cancelled"
    plain = client.post(f"{link}/cancel", json={})  # without the key: a second cancellation is still refused
    assert plain.status_code == 409 and plain.get_json()["error"]["code"] == "booking_not_changeable"
    assert [kind for kind, _ in outbox(luot)] == ["booking_confirmed", "booking_changed", "booking_cancelled"]


def test_a_citizens_booking_texts_only_the_phone_they_proved(client, luot, world, clock):
    make_bookable(luot, world)
    enable_sms(luot, world.site_id)
    clock.set(at(8))
    citizen(client, "b", "+84912345678")
    stranger = client.post(
        "/book/HN/bookings", json={"service": "TP-A", "slot": at(9).isoformat(), "contact": "0987654321"}
    )
    assert stranger.status_code == 400 and stranger.get_json()["error"]["code"] == "contact_not_verified"
    assert set(stranger.get_json()["error"]["messages"]) == {"vi", "en"}
    mail = client.post("/book/HN/bookings", json={"service": "TP-A", "slot": at(9).isoformat(), "contact": "x@y.vn"})
    assert mail.status_code == 400 and mail.get_json()["error"]["code"] == "contact_not_verified"
    with luot.db.read() as session:
        assert session.exec(select(Appointment)).all() == []
    assert outbox(luot) == []
    staff = bearer(staff_token(client, "clerk2"))  # staff booking for a caller type the caller's number
    by_phone = client.post(
        "/book/HN/bookings",
        json={"service": "TP-A", "slot": at(9).isoformat(), "contact": "0987654321"},
        headers=staff,
    )
    assert by_phone.status_code == 201, by_phone.get_json()


def test_a_booking_is_moved_at_most_three_times_by_its_link_and_its_change_messages_are_capped(
    client, luot, world, clock
):
    make_bookable(luot, world)
    enable_sms(luot, world.site_id)
    clock.set(at(8))
    citizen(client, "b", "+84912345678")
    made = client.post("/book/HN/bookings", json={"service": "TP-A", "slot": at(9).isoformat()}).get_json()
    link, booking_id = f"/book/HN/b/{made['secret']}", made["booking"]["code"]
    # back and forth: each move is told, even back to a slot the booking had before
    for minute in (15, 0, 15):
        assert client.post(f"{link}/move", json={"slot": at(9, minute).isoformat()}).status_code == 200
    assert MAX_LINK_MOVES == 3
    same = client.post(f"{link}/move", json={"slot": at(9, 15).isoformat()})  # where it is: nothing to refuse
    assert same.status_code == 200
    fourth = client.post(f"{link}/move", json={"slot": at(9, 30).isoformat()})
    assert fourth.status_code == 409 and fourth.get_json()["error"]["code"] == "too_many_moves"
    messages = fourth.get_json()["error"]["messages"]
    assert "3" in messages["vi"] and "huỷ" in messages["vi"] and "cancel it and book again" in messages["en"]
    with luot.db.read() as session:
        appointment = session.exec(select(Appointment).where(Appointment.code == booking_id)).one()
    assert appointment.slot_at == at(9, 15) and appointment.moves == 3
    staff = bearer(staff_token(client, "clerk2"))  # the centre may move it further, for the citizen who asks
    for minute in (30, 45, 0, 15):
        moved = client.post(
            f"/book/HN/staff/{appointment.id}/move", json={"slot": at(10, minute).isoformat()}, headers=staff
        )
        assert moved.status_code == 200, moved.get_json()
    with luot.db.read() as session:
        kinds = [m.kind for m in session.exec(select(OutboxMessage).order_by(OutboxMessage.id))]
    assert kinds == ["booking_confirmed"] + ["booking_changed"] * MAX_CHANGE_NOTICES
