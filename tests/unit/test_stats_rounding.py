"""A share is rounded once, half up to a tenth of a percent, and every surface writes the same digit.

The H3 check found 3411 satisfied of 3566 ratings (95.653 %) shown as 95,6% on the page and in the PDF but
95.7 in the CSV and Excel: the share was rounded to four decimals (0.9565), then Babel rounded that half to
even. Here the page and PDF (server.stats.numbers.percent), the CSV (server.stats.exports.text_value, both
separators) and the value Excel and the live page receive (server.stats.rows.figures) are compared with the
exact fraction rounded half up, for every fraction up to 200.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from server.stats.exports import text_value
from server.stats.models import MEASURES
from server.stats.numbers import percent
from server.stats.rows import figures


def satisfaction(satisfied: int, ratings: int) -> float | None:
    row = dict.fromkeys(MEASURES, 0) | {"r_very": satisfied, "r_unsat": ratings - satisfied, "ratings": ratings}
    return figures([row[m] for m in MEASURES])["satisfaction"]


def half_up(part: int, whole: int) -> Decimal:
    """The exact percentage part/whole rounded half up to one decimal."""
    exact = Fraction(100 * part, whole)
    return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def test_the_reported_satisfaction_reads_95_7_everywhere():
    share = satisfaction(3411, 3566)
    assert share == 0.957  # what Excel (format 0.0%) and the live page (Intl) receive
    assert percent(share) == "95,7%" and percent(share, "en") == "95.7%"
    assert text_value(share, "share") == "95.7" and text_value(share, "share", decimal_comma=True) == "95,7"


def test_a_tie_rounds_up_on_every_surface():
    share = satisfaction(1, 16)  # 6.25 %
    assert share == 0.063
    assert percent(share) == "6,3%" and text_value(share, "share") == "6.3"
    assert percent(0.0625) == "6,3%"  # a share not rounded yet is rounded the same way


def test_every_fraction_up_to_200_shows_the_exact_value_rounded_half_up_on_every_surface():
    for whole in range(1, 201):
        for part in range(whole + 1):
            share = satisfaction(part, whole)
            assert share is not None
            wanted = half_up(part, whole)
            assert Decimal(repr(share)) * 100 == wanted, (part, whole, share)
            assert text_value(share, "share") == f"{wanted}", (part, whole)
            assert percent(share, "en") == f"{wanted}%", (part, whole)
            assert percent(share) == f"{wanted}".replace(".", ",") + "%", (part, whole)


def test_no_share_without_a_base():
    assert satisfaction(0, 0) is None and percent(None) == "–" and text_value(None, "share") == ""
