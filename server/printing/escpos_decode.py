"""A small ESC/POS decoder for tests and diagnostics: raster images and cuts.

It walks the stream command by command (so raster payloads are never mistaken for
commands), collects ``GS v 0`` raster blocks and stacks consecutive blocks of the
same width into one image — python-escpos splits tall images into fragments of
960 rows. Commands it does not know are skipped one byte at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image

ESC, GS, DLE, FS = 0x1B, 0x1D, 0x10, 0x1C
_INVERT = bytes(255 - i for i in range(256))

# Fixed-length commands: (prefix byte, command byte) -> total length in bytes.
_FIXED = {
    (ESC, ord("@")): 2,
    (ESC, ord("d")): 3,
    (ESC, ord("J")): 3,
    (ESC, ord("a")): 3,
    (ESC, ord("!")): 3,
    (ESC, ord("E")): 3,
    (ESC, ord("-")): 3,
    (ESC, ord("2")): 2,
    (ESC, ord("3")): 3,
    (ESC, ord("t")): 3,
    (ESC, ord("M")): 3,
    (ESC, ord("G")): 3,
    (ESC, ord("R")): 3,
    (ESC, ord("{")): 3,
    (ESC, ord("c")): 4,
    (ESC, ord("p")): 5,
    (ESC, ord("=")): 3,
    (GS, ord("!")): 3,
    (GS, ord("B")): 3,
    (GS, ord("L")): 4,
    (GS, ord("W")): 4,
    (GS, ord("h")): 3,
    (GS, ord("w")): 3,
    (GS, ord("H")): 3,
    (GS, ord("f")): 3,
    (GS, ord("a")): 3,
    (GS, ord("r")): 3,
    (DLE, 0x04): 3,
    (DLE, 0x05): 3,
    (FS, ord(".")): 2,
    (FS, ord("&")): 2,
}


@dataclass
class DecodedPrintout:
    """What a printer would print: images (stacked raster blocks), their width, and a cut."""

    images: list[Image.Image] = field(default_factory=list)
    width_dots: int = 0
    has_cut: bool = False
    feeds: int = 0


def decode_escpos(data: bytes) -> DecodedPrintout:
    """Decode ``data``; images come back in mode "1" with black = 0 (as rendered)."""
    out = DecodedPrintout()
    blocks: list[Image.Image] = []  # raster blocks not yet interrupted by anything printable

    def flush() -> None:
        if blocks:
            out.images.append(_stack(blocks))
            blocks.clear()

    i, n = 0, len(data)
    while i < n:
        b = data[i]
        nxt = data[i + 1] if i + 1 < n else None
        if b == GS and nxt == ord("v") and i + 2 < n and data[i + 2] == ord("0"):
            image, i = _raster(data, i)
            if blocks and blocks[-1].width != image.width:
                flush()
            blocks.append(image)
            continue
        if b == GS and nxt == ord("V"):
            out.has_cut = True
            flush()
            mode = data[i + 2] if i + 2 < n else 0
            i += 4 if mode in (65, 66) else 3
            continue
        if b == GS and nxt == ord("(") and i + 4 < n:  # GS ( x pL pH <payload>: skip
            i += 5 + data[i + 3] + 256 * data[i + 4]
            continue
        if b in (ESC, GS, DLE, FS) and nxt is not None and (b, nxt) in _FIXED:
            if (b, nxt) in ((ESC, ord("d")), (ESC, ord("J"))):
                flush()
                out.feeds += 1
            i += _FIXED[(b, nxt)]
            continue
        if b == 0x0A:  # LF prints the line buffer: ends an image group
            flush()
            out.feeds += 1
        elif b >= 0x20:
            flush()  # text between images
        i += 1
    flush()
    out.width_dots = max((im.width for im in out.images), default=0)
    return out


def _raster(data: bytes, i: int) -> tuple[Image.Image, int]:
    """Parse ``GS v 0 m xL xH yL yH d1…dk`` at ``i``; return the image and the next offset."""
    if i + 8 > len(data):
        raise ValueError(f"truncated GS v 0 header at byte {i}")
    mode = data[i + 3] & 0x03
    width_bytes = data[i + 4] + 256 * data[i + 5]
    height = data[i + 6] + 256 * data[i + 7]
    start, end = i + 8, i + 8 + width_bytes * height
    if end > len(data):
        raise ValueError(f"truncated GS v 0 raster at byte {i}: needs {end - start} bytes, has {len(data) - start}")
    # In ESC/POS a set bit prints a dot; in PIL mode "1" a set bit is white: invert.
    image = Image.frombytes("1", (width_bytes * 8, height), data[start:end].translate(_INVERT))
    if mode & 1:  # double width
        image = image.resize((image.width * 2, image.height), Image.Resampling.NEAREST)
    if mode & 2:  # double height
        image = image.resize((image.width, image.height * 2), Image.Resampling.NEAREST)
    return image, end


def _stack(blocks: list[Image.Image]) -> Image.Image:
    if len(blocks) == 1:
        return blocks[0]
    image = Image.new("1", (blocks[0].width, sum(b.height for b in blocks)), 1)
    y = 0
    for block in blocks:
        image.paste(block, (0, y))
        y += block.height
    return image
