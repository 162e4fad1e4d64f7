"""Named refusals of booked slots and online numbers (issue 18); vi/en messages in server/translations/vi-booking.po."""

from __future__ import annotations

from server.domain.errors import N_, DomainError


class NotBookable(DomainError):
    code, status, message = "not_bookable", 409, N_("This service does not take bookings.")


class NoOnlineNumbers(DomainError):
    code, status, message = "no_online_numbers", 409, N_("This service does not give numbers online.")


class UnknownSlot(DomainError):
    code, status, message = "unknown_slot", 404, N_("This service has no slot at that time.")


class BookingClosed(DomainError):
    code, status, message = "booking_closed", 409, N_("This slot can no longer be booked. Please choose a later one.")


class BookingTooFar(DomainError):
    code, status, message = (
        "booking_too_far",
        409,
        N_("Bookings are taken for today and the next {days} days only. Please choose an earlier day."),
    )


class SlotFull(DomainError):
    code, status, message = "slot_full", 409, N_("This slot has just been fully booked. Please choose another one.")


class UnknownBooking(DomainError):
    code, status, message = "unknown_booking", 404, N_("No booking matches this link or code.")


class BookingNotChangeable(DomainError):
    code, status, message = (
        "booking_not_changeable",
        409,
        N_("This booking can no longer be changed (it was cancelled, used or has lapsed)."),
    )


class TooManyMoves(DomainError):
    code, status, message = (
        "too_many_moves",
        409,
        N_(
            "This booking has already been moved {moves} times, the most allowed. To change it again, cancel it and "
            "book again, or ask the centre."
        ),
    )


class ContactNotVerified(DomainError):
    code, status, message = (
        "contact_not_verified",
        400,
        N_(
            "Messages about a booking go only to the phone number you confirmed with the code. Leave the contact "
            "out, or identify yourself with that number."
        ),
    )


class BookingCancelled(DomainError):
    code, status, message = (
        "booking_cancelled",
        409,
        N_("This booking was cancelled. Please take a number."),
    )


class BookingLapsed(DomainError):
    code, status, message = (
        "booking_lapsed",
        409,
        N_("This booking has lapsed: it was not checked in in time. Please take a number."),
    )


class IdentifyFirst(DomainError):
    code, status, message = "identify_first", 401, N_("Please identify yourself first (phone code or sign-in).")
