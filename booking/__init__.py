"""Booked slots and online numbers for today: the citizen's page, its JSON endpoints and the staff side."""

from __future__ import annotations

from flask import Blueprint


def blueprints() -> tuple[Blueprint, ...]:
    """The blueprints of the booking surface, with every route module loaded."""
    from booking import pages  # noqa: F401  (registers the pages on `book`)
    from booking.privacy import register_rules
    from booking.routes import book
    from booking.staff import staff_pages

    register_rules()  # the purge clears the bookings' contacts and card keys
    return (book, staff_pages)
