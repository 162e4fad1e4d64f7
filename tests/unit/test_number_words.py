"""Vietnamese number words: hand-written expectations, one row per case."""

from __future__ import annotations

import unicodedata

import pytest

from server.voice.numbers import (
    LETTER_NAMES,
    digits_to_words,
    display_number_to_words,
    letter_name,
    number_to_words,
)

# Every number 0..120, north (default) wording, written out by hand.
ZERO_TO_120 = [
    (0, "không"),
    (1, "một"),
    (2, "hai"),
    (3, "ba"),
    (4, "bốn"),
    (5, "năm"),
    (6, "sáu"),
    (7, "bảy"),
    (8, "tám"),
    (9, "chín"),
    (10, "mười"),
    (11, "mười một"),
    (12, "mười hai"),
    (13, "mười ba"),
    (14, "mười bốn"),
    (15, "mười lăm"),
    (16, "mười sáu"),
    (17, "mười bảy"),
    (18, "mười tám"),
    (19, "mười chín"),
    (20, "hai mươi"),
    (21, "hai mươi mốt"),
    (22, "hai mươi hai"),
    (23, "hai mươi ba"),
    (24, "hai mươi tư"),
    (25, "hai mươi lăm"),
    (26, "hai mươi sáu"),
    (27, "hai mươi bảy"),
    (28, "hai mươi tám"),
    (29, "hai mươi chín"),
    (30, "ba mươi"),
    (31, "ba mươi mốt"),
    (32, "ba mươi hai"),
    (33, "ba mươi ba"),
    (34, "ba mươi tư"),
    (35, "ba mươi lăm"),
    (36, "ba mươi sáu"),
    (37, "ba mươi bảy"),
    (38, "ba mươi tám"),
    (39, "ba mươi chín"),
    (40, "bốn mươi"),
    (41, "bốn mươi mốt"),
    (42, "bốn mươi hai"),
    (43, "bốn mươi ba"),
    (44, "bốn mươi tư"),
    (45, "bốn mươi lăm"),
    (46, "bốn mươi sáu"),
    (47, "bốn mươi bảy"),
    (48, "bốn mươi tám"),
    (49, "bốn mươi chín"),
    (50, "năm mươi"),
    (51, "năm mươi mốt"),
    (52, "năm mươi hai"),
    (53, "năm mươi ba"),
    (54, "năm mươi tư"),
    (55, "năm mươi lăm"),
    (56, "năm mươi sáu"),
    (57, "năm mươi bảy"),
    (58, "năm mươi tám"),
    (59, "năm mươi chín"),
    (60, "sáu mươi"),
    (61, "sáu mươi mốt"),
    (62, "sáu mươi hai"),
    (63, "sáu mươi ba"),
    (64, "sáu mươi tư"),
    (65, "sáu mươi lăm"),
    (66, "sáu mươi sáu"),
    (67, "sáu mươi bảy"),
    (68, "sáu mươi tám"),
    (69, "sáu mươi chín"),
    (70, "bảy mươi"),
    (71, "bảy mươi mốt"),
    (72, "bảy mươi hai"),
    (73, "bảy mươi ba"),
    (74, "bảy mươi tư"),
    (75, "bảy mươi lăm"),
    (76, "bảy mươi sáu"),
    (77, "bảy mươi bảy"),
    (78, "bảy mươi tám"),
    (79, "bảy mươi chín"),
    (80, "tám mươi"),
    (81, "tám mươi mốt"),
    (82, "tám mươi hai"),
    (83, "tám mươi ba"),
    (84, "tám mươi tư"),
    (85, "tám mươi lăm"),
    (86, "tám mươi sáu"),
    (87, "tám mươi bảy"),
    (88, "tám mươi tám"),
    (89, "tám mươi chín"),
    (90, "chín mươi"),
    (91, "chín mươi mốt"),
    (92, "chín mươi hai"),
    (93, "chín mươi ba"),
    (94, "chín mươi tư"),
    (95, "chín mươi lăm"),
    (96, "chín mươi sáu"),
    (97, "chín mươi bảy"),
    (98, "chín mươi tám"),
    (99, "chín mươi chín"),
    (100, "một trăm"),
    (101, "một trăm linh một"),
    (102, "một trăm linh hai"),
    (103, "một trăm linh ba"),
    (104, "một trăm linh bốn"),
    (105, "một trăm linh năm"),
    (106, "một trăm linh sáu"),
    (107, "một trăm linh bảy"),
    (108, "một trăm linh tám"),
    (109, "một trăm linh chín"),
    (110, "một trăm mười"),
    (111, "một trăm mười một"),
    (112, "một trăm mười hai"),
    (113, "một trăm mười ba"),
    (114, "một trăm mười bốn"),
    (115, "một trăm mười lăm"),
    (116, "một trăm mười sáu"),
    (117, "một trăm mười bảy"),
    (118, "một trăm mười tám"),
    (119, "một trăm mười chín"),
    (120, "một trăm hai mươi"),
]

HUNDREDS = [
    (100, "một trăm"),
    (200, "hai trăm"),
    (300, "ba trăm"),
    (400, "bốn trăm"),
    (500, "năm trăm"),
    (600, "sáu trăm"),
    (700, "bảy trăm"),
    (800, "tám trăm"),
    (900, "chín trăm"),
    (1000, "một nghìn"),
]

THOUSANDS = [
    (1000, "một nghìn"),
    (2000, "hai nghìn"),
    (3000, "ba nghìn"),
    (4000, "bốn nghìn"),
    (5000, "năm nghìn"),
    (6000, "sáu nghìn"),
    (7000, "bảy nghìn"),
    (8000, "tám nghìn"),
    (9000, "chín nghìn"),
    (10000, "mười nghìn"),
    (20000, "hai mươi nghìn"),
    (100000, "một trăm nghìn"),
    (1000000, "một triệu"),
]

OTHERS = [
    (1001, "một nghìn không trăm linh một"),
    (1005, "một nghìn không trăm linh năm"),
    (1010, "một nghìn không trăm mười"),
    (1015, "một nghìn không trăm mười lăm"),
    (1021, "một nghìn không trăm hai mươi mốt"),
    (1023, "một nghìn không trăm hai mươi ba"),
    (1024, "một nghìn không trăm hai mươi tư"),
    (1100, "một nghìn một trăm"),
    (1105, "một nghìn một trăm linh năm"),
    (1234, "một nghìn hai trăm ba mươi tư"),
    (2000, "hai nghìn"),
    (10000, "mười nghìn"),
    (15000, "mười lăm nghìn"),
    (21000, "hai mươi mốt nghìn"),
    (24000, "hai mươi tư nghìn"),
    (99999, "chín mươi chín nghìn chín trăm chín mươi chín"),
    (100005, "một trăm nghìn không trăm linh năm"),
    (1000005, "một triệu không trăm linh năm"),
    (1005000, "một triệu không trăm linh năm nghìn"),
    (1000100, "một triệu một trăm"),
    (5000000, "năm triệu"),
    (12345678, "mười hai triệu ba trăm bốn mươi lăm nghìn sáu trăm bảy mươi tám"),
    (
        999999999,
        "chín trăm chín mươi chín triệu chín trăm chín mươi chín nghìn chín trăm chín mươi chín",
    ),
]


@pytest.mark.parametrize(("n", "expected"), ZERO_TO_120 + HUNDREDS + THOUSANDS + OTHERS)
def test_north_default(n: int, expected: str) -> None:
    assert number_to_words(n) == expected
    assert number_to_words(n, region="north") == expected


def test_table_covers_zero_to_120() -> None:
    assert [n for n, _ in ZERO_TO_120] == list(range(121))


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (5, "năm"),
        (15, "mười lăm"),
        (25, "hai mươi lăm"),
        (101, "một trăm lẻ một"),
        (104, "một trăm lẻ bốn"),
        (105, "một trăm lẻ năm"),
        (110, "một trăm mười"),
        (1000, "một ngàn"),
        (1005, "một ngàn không trăm lẻ năm"),
        (1021, "một ngàn không trăm hai mươi mốt"),
        (1024, "một ngàn không trăm hai mươi tư"),
        (1105, "một ngàn một trăm lẻ năm"),
        (2000, "hai ngàn"),
        (10000, "mười ngàn"),
        (99999, "chín mươi chín ngàn chín trăm chín mươi chín"),
        (1000000, "một triệu"),
        (1000005, "một triệu không trăm lẻ năm"),
    ],
)
def test_south(n: int, expected: str) -> None:
    assert number_to_words(n, region="south") == expected


@pytest.mark.parametrize(
    ("n", "region", "expected"),
    [
        (5, "north", "năm"),
        (15, "north", "mười lăm"),
        (25, "north", "hai mươi nhăm"),
        (35, "north", "ba mươi nhăm"),
        (95, "north", "chín mươi nhăm"),
        (105, "north", "một trăm linh năm"),
        (115, "north", "một trăm mười lăm"),
        (125, "north", "một trăm hai mươi nhăm"),
        (1025, "north", "một nghìn không trăm hai mươi nhăm"),
        (25000, "north", "hai mươi nhăm nghìn"),
        (24, "north", "hai mươi tư"),
        (21, "north", "hai mươi mốt"),
        (1025, "south", "một ngàn không trăm hai mươi nhăm"),
        (15, "south", "mười lăm"),
    ],
)
def test_nham(n: int, region: str, expected: str) -> None:
    assert number_to_words(n, region=region, nham=True) == expected


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "không"),
        (5, "năm"),
        (15, "một năm"),
        (100, "một không không"),
        (1023, "một không hai ba"),
        (1024, "một không hai bốn"),
        (987654321, "chín tám bảy sáu năm bốn ba hai một"),
    ],
)
def test_digit_by_digit(n: int, expected: str) -> None:
    assert number_to_words(n, digit_by_digit=True) == expected
    assert number_to_words(n, digit_by_digit=True, region="south") == expected


def test_digits_to_words_keeps_leading_zeros() -> None:
    assert digits_to_words("0015") == "không không một năm"


@pytest.mark.parametrize(
    ("display", "opts", "expected"),
    [
        ("1023", {}, "một nghìn không trăm hai mươi ba"),
        ("A1023", {}, "a, một nghìn không trăm hai mươi ba"),
        ("a1023", {}, "a, một nghìn không trăm hai mươi ba"),
        ("A-1023", {}, "a, một nghìn không trăm hai mươi ba"),
        ("A 1023", {}, "a, một nghìn không trăm hai mươi ba"),
        ("B015", {}, "bê, mười lăm"),
        ("B015", {"digit_by_digit": True}, "bê, không một năm"),
        ("A1023", {"digit_by_digit": True}, "a, một không hai ba"),
        ("AB21", {}, "a bê, hai mươi mốt"),
        ("C105", {"region": "south"}, "xê, một trăm lẻ năm"),
        ("D25", {"nham": True}, "dê, hai mươi nhăm"),
        ("Đ5", {}, "đê, năm"),
        ("L7", {}, "e-lờ, bảy"),
        ("M4", {}, "em-mờ, bốn"),
        ("S1005", {"region": "south"}, "ét-xì, một ngàn không trăm lẻ năm"),
        ("Y24", {}, "i dài, hai mươi tư"),
        ("X1", {}, "ích-xì, một"),
        ("HK10", {}, "hát ca, mười"),
        ("7", {}, "bảy"),
        ("007", {}, "bảy"),
        ("007", {"digit_by_digit": True}, "không không bảy"),
    ],
)
def test_display_numbers(display: str, opts: dict[str, object], expected: str) -> None:
    assert display_number_to_words(display, **opts) == expected


@pytest.mark.parametrize(
    ("letter", "name"),
    [
        ("A", "a"),
        ("B", "bê"),
        ("C", "xê"),
        ("D", "dê"),
        ("Đ", "đê"),
        ("E", "e"),
        ("G", "giê"),
        ("H", "hát"),
        ("K", "ca"),
        ("L", "e-lờ"),
        ("M", "em-mờ"),
        ("N", "en-nờ"),
        ("P", "pê"),
        ("Q", "quy"),
        ("S", "ét-xì"),
        ("T", "tê"),
        ("V", "vê"),
        ("X", "ích-xì"),
        ("Y", "i dài"),
        ("đ", "đê"),
    ],
)
def test_letter_names(letter: str, name: str) -> None:
    assert letter_name(letter) == name


def test_decomposed_input_is_normalised() -> None:
    nfd = unicodedata.normalize("NFD", "Ư12")
    assert nfd != "Ư12"
    assert display_number_to_words(nfd) == "ư, mười hai"


@pytest.mark.parametrize("n", [0, 15, 21, 24, 105, 1005, 99999, 999999999])
@pytest.mark.parametrize("region", ["north", "south"])
def test_output_is_nfc(n: int, region: str) -> None:
    words = number_to_words(n, region=region, nham=True)
    assert unicodedata.is_normalized("NFC", words)


def test_all_letter_names_are_nfc() -> None:
    for letter, name in LETTER_NAMES.items():
        assert unicodedata.is_normalized("NFC", letter)
        assert unicodedata.is_normalized("NFC", name)


@pytest.mark.parametrize("bad", [-1, 1_000_000_000])
def test_out_of_range(bad: int) -> None:
    with pytest.raises(ValueError):
        number_to_words(bad)


@pytest.mark.parametrize("bad", [True, 1.5, "12"])
def test_not_an_int(bad: object) -> None:
    with pytest.raises(TypeError):
        number_to_words(bad)  # type: ignore[arg-type]


def test_unknown_region() -> None:
    with pytest.raises(ValueError, match="region"):
        number_to_words(5, region="central")
    with pytest.raises(ValueError, match="region"):
        display_number_to_words("A5", region="central")


@pytest.mark.parametrize("bad", ["", "--", " "])
def test_empty_display_number(bad: str) -> None:
    with pytest.raises(ValueError):
        display_number_to_words(bad)
