"""Hall boards, counter displays, call audio and the phone tracking page (flows 2, 3 and 6): the blueprint's
routes, templates and JS modules. The announcements themselves are built in `server.voice.calls`."""
