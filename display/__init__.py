"""Hall boards, counter displays, Vietnamese voice calls and the phone tracking page (flows 2, 3 and 6).

`display.routes.register(app)` adds the blueprint and wires the hub's announcements (display.audio).
"""
