"""Who a citizen is, for online numbers, bookings and per-person limits (issue 18).

`citizen.py` holds the shape every channel agrees on (a `Citizen` and its `person_key`); the ways of
establishing one (one-time code by phone, OpenID Connect, the CCCD QR at the kiosk) live beside it.
"""
