"""Named domain errors. Messages are English msgids, translated at the edge (server.i18n)."""

from __future__ import annotations

from typing import Any, ClassVar


def N_(message: str) -> str:
    """Marks a message for translation extraction without translating it."""
    return message


class DomainError(Exception):
    """A queue rule refused an action. `status` is a hint for the HTTP edge."""

    code: ClassVar[str] = "refused"
    status: ClassVar[int] = 409
    message: ClassVar[str] = N_("The action was refused.")

    def __init__(self, message: str | None = None, **params: Any) -> None:
        self.text = message or self.message
        self.params = params
        super().__init__(self.text.format(**params) if params else self.text)


class DateOutOfRange(DomainError):
    """A date or month outside the calendar people may give (server.calendar_bounds)."""

    code, status, message = "date_out_of_range", 400, N_("{date} is outside the dates accepted ({first} to {last}).")


class RangeTooLong(DomainError):
    """A period of more days than a report covers (the history's cap: dashboard.routes.MAX_RANGE_DAYS)."""

    code, status, message = (
        "range_too_long",
        400,
        N_("{first} to {last} is {days} days; a report covers at most {cap} days. Please choose a shorter period."),
    )


class UnknownService(DomainError):
    code, status, message = "unknown_service", 404, N_("Unknown service: {service}.")


class UnknownCounter(DomainError):
    code, status, message = "unknown_counter", 404, N_("Unknown counter.")


class UnknownTicket(DomainError):
    code, status, message = "unknown_ticket", 404, N_("Unknown ticket.")


class ServiceClosed(DomainError):
    code, status, message = "service_closed", 409, N_("This service is not receiving citizens now.")


class DailyCapReached(DomainError):
    code, status, message = "daily_cap_reached", 409, N_("This service has issued all {cap} numbers for today.")


class NumbersExhausted(DomainError):
    code, status, message = "numbers_exhausted", 409, N_("The number range of this service is used up today.")


class InvalidPriority(DomainError):
    code, status, message = "invalid_priority", 400, N_("Unknown priority class: {priority}.")


class UnknownAppointment(DomainError):
    code, status, message = "unknown_appointment", 404, N_("No appointment with this code today.")


class AppointmentOtherDay(DomainError):
    code, status, message = (
        "appointment_other_day",
        409,
        N_("Your appointment with this code is at {time} on {day}. Please come back on that day."),
    )


class AppointmentUsed(DomainError):
    code, status, message = "appointment_used", 409, N_("This appointment has already been checked in.")


class IdempotencyConflict(DomainError):
    code, status, message = (
        "idempotency_conflict",
        409,
        N_("This request key was already used for a different request."),
    )


class CounterNotOpen(DomainError):
    code, status, message = "counter_not_open", 409, N_("The counter is not open.")


class CounterPaused(DomainError):
    code, status, message = "counter_paused", 409, N_("The counter is paused; resume it first.")


class CounterTaken(DomainError):
    code, status, message = "counter_taken", 409, N_("Counter {counter} is held by another clerk.")


class ClerkHasCounter(DomainError):
    code, status, message = (
        "clerk_has_counter",
        409,
        N_("You already hold counter {counter}; close it before taking another."),
    )


class CounterNotAllowed(DomainError):
    code, status, message = (
        "counter_not_allowed",
        403,
        N_("Counter {counter} is kept for the clerks assigned to it; please choose another counter."),
    )


class WrongCounter(DomainError):
    code, status, message = "wrong_counter", 403, N_("Only the clerk holding this counter may do this.")


class NoTicketWaiting(DomainError):
    code, status, message = "no_ticket_waiting", 409, N_("Nobody is waiting for this counter.")


class NoCurrentTicket(DomainError):
    code, status, message = "no_current_ticket", 409, N_("The counter has no current ticket.")


class TicketStillCalled(DomainError):
    code, status, message = (
        "ticket_still_called",
        409,
        N_("Ticket {number} was called but not started: start it or mark it as no-show first."),
    )


class TicketChanged(DomainError):
    """The console named a ticket (`ticket_id`) that is no longer the one at the counter: another console of the
    clerk, or a live update not yet arrived. Raise it through `at_counter_now` (the number at the counter now)."""

    code, status, message = (
        "ticket_changed",
        409,
        N_("The counter has changed meanwhile: number {number} is at it now. Nothing was done; check and try again."),
    )
    NOBODY: ClassVar[str] = N_(
        "The counter has changed meanwhile: nobody is at it now. Nothing was done; check and try again."
    )

    @classmethod
    def at_counter_now(cls, number: str | None) -> TicketChanged:
        """The refusal naming `number`, the display number at the counter now (None: nobody is)."""
        return cls(number=number) if number is not None else cls(cls.NOBODY)


class InvalidTransition(DomainError):
    code, status, message = "invalid_transition", 409, N_("Ticket {number} cannot be {action} now.")


class CitizenAtCounter(DomainError):
    code, status, message = (
        "citizen_at_counter",
        409,
        N_("Finish number {number} or mark it as not present first."),
    )


class InvalidTransfer(DomainError):
    code, status, message = "invalid_transfer", 400, N_("A ticket can only be transferred to another service.")


class TicketOfEarlierDay(DomainError):
    code, status, message = (
        "ticket_of_earlier_day",
        409,
        N_("Number {number} belongs to an earlier day: it can only be finished or marked absent."),
    )


class RatingNotAllowed(DomainError):
    code, status, message = "rating_not_allowed", 409, N_("This ticket cannot be rated (not finished yet).")


class AlreadyRated(DomainError):
    code, status, message = "already_rated", 409, N_("This ticket has already been rated.")


class InvalidScore(DomainError):
    code, status, message = "invalid_score", 400, N_("Unknown rating: {score}.")


class StaffCannotRate(DomainError):
    code, status, message = (
        "staff_cannot_rate",
        403,
        N_("Staff accounts cannot rate: only the citizen rates, on the counter's tablet or their phone."),
    )


class RatingWrongCounter(DomainError):
    code, status, message = (
        "rating_wrong_counter",
        403,
        N_("This tablet may only rate tickets served at its own counter."),
    )


class RatingWindowClosed(DomainError):
    code, status, message = (
        "rating_window_closed",
        403,
        N_("The time to rate this ticket has passed."),
    )


class InvalidReason(DomainError):
    code, status, message = "invalid_reason", 400, N_("Unknown reason for this rating: {reason}.")


class InvalidDossierCode(DomainError):
    code, status, message = (
        "invalid_dossier_code",
        400,
        N_("Not a dossier code: {value} (letters, digits and . _ / - only, at most 64)."),
    )


class TooManyDossierCodes(DomainError):
    code, status, message = "too_many_dossier_codes", 400, N_("A ticket carries at most {limit} dossier codes.")
