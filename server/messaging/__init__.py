"""Messages to citizens (issue 18): an outbox table filled inside the transactions that cause them, channels (Zalo
ZNS, an HTTP SMS gateway, SMTP e-mail) configured per site, a background worker that sends them with retries, and
the triggers that queue "3 ahead" and "called" messages from the line projection.

- outbox.py    enqueue(), watch_ticket(), MessageKind — the interface other parts call
- texts.py     the words of each message kind (vi default, en), unaccented for SMS
- addresses.py phone (E.164, Vietnam by default) and e-mail normalisation
- config.py    a site's channels, checked (`Site.settings["messaging"]`)
- channels.py  the Channel protocol, SendResult, and the choice of a channel for an address
- zalo.py, sms.py, email_smtp.py   the channels
- worker.py    claims due messages, sends them outside any transaction, records the outcome
- triggers.py  near-turn and called messages from each refresh of a site's line
- failures.py  what the manager dashboard shows (failed and late messages)
"""
