"""Turn a rendered ticket image into the ESC/POS byte stream a thermal printer prints."""

from __future__ import annotations

import copy

from PIL import Image

#: python-escpos splits taller images into stacked GS v 0 blocks of at most this many rows.
FRAGMENT_HEIGHT = 960


def ticket_escpos_bytes(image: Image.Image) -> bytes:
    """ESC @ (initialise), the image as GS v 0 raster block(s), feed, GS V (cut)."""
    from escpos.printer import Dummy  # imported lazily: loading escpos costs ~0.25 s

    printer = Dummy()
    # The default profile has no paper width: escpos then print()s a warning to stdout on every
    # image. Give this instance (never the shared profile class) the width of our image.
    profile_data = copy.deepcopy(printer.profile.profile_data)
    profile_data["media"]["width"]["pixels"] = image.width
    printer.profile.profile_data = profile_data

    printer.hw("INIT")
    printer.image(image, impl="bitImageRaster", fragment_height=FRAGMENT_HEIGHT, center=False)
    printer.cut()  # feeds 6 lines (ESC d 6) so the ticket clears the cutter, then GS V 0
    return printer.output
