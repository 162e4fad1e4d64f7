"""The consent text shown before a citizen's phone number is taken (Law 91/2025/QH15, art. on consent): what is
collected, why, for how long, and the right to have it deleted. The API refuses a code without consent=true.

The English text is the msgid; the Vietnamese is in server/translations/vi-identity.po. Change
`CONSENT_VERSION` whenever the words change.
"""

from __future__ import annotations

from server.domain.errors import N_

CONSENT_VERSION = "2026-11-30"
CONSENT_TEXT = N_(
    "To give you a number or a booking we use your phone number: to send you a one-time code and the messages you "
    "ask for about your turn or your booking. We keep it in clear only until the end of the day of your number or "
    "booking; to limit numbers per person we keep a coded form of it for {days} days. We share it with no one "
    "except the messaging service that delivers the texts. You may ask the centre to show or delete your data at "
    "any time."
)
