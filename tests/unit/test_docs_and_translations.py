"""Every setting is documented, and every user-facing message has a Vietnamese translation."""

from __future__ import annotations

import ast
import re
from dataclasses import fields
from pathlib import Path

import pytest

from server.i18n import _catalogue
from server.settings import SETTINGS, Settings, markdown_table

ROOT = Path(__file__).parents[2]
SOURCE_DIRS = ["server", "kiosk", "display", "counter", "dashboard", "booking"]


def test_the_readme_settings_table_is_the_generated_one():
    readme = (ROOT / "README.md").read_text()
    table = re.search(r"<!-- settings-table:[^>]*-->\n(.*?)<!-- /settings-table -->", readme, re.S)
    assert table, "README.md has no settings-table markers"
    assert table[1] == markdown_table(), "README settings table is stale: python -m server.settings --markdown"
    for spec in SETTINGS:
        assert f"`LUOT_{spec.name.upper()}`" in table[1]


def test_each_setting_has_one_default_and_a_help_line():
    defaults = Settings()
    assert {spec.name for spec in SETTINGS} == {f.name for f in fields(Settings)} - {"extra"}
    for spec in SETTINGS:
        assert getattr(defaults, spec.name) == spec.default and spec.help
        assert isinstance(spec.default, spec.type)


def marked_messages() -> set[str]:
    """English msgids marked with N_("…") in Python or _("…") in templates and Python."""
    found: set[str] = set()
    pattern = re.compile(r"""\b(?:N_|_)\(\s*((?:"(?:[^"\\]|\\.)*"\s*)+)""")
    for folder in SOURCE_DIRS:
        for path in (ROOT / folder).rglob("*"):
            if path.suffix not in (".py", ".html") or "static" in path.parts:
                continue
            for match in pattern.finditer(path.read_text()):
                found.add("".join(ast.literal_eval(part) for part in re.findall(r'"(?:[^"\\]|\\.)*"', match[1])))
    return found


@pytest.mark.parametrize("message", sorted(marked_messages()))
def test_every_marked_message_has_a_vietnamese_translation(message):
    assert message in _catalogue("vi"), f"no Vietnamese for {message!r}"


def test_no_two_catalogues_translate_the_same_message_differently():
    from babel.messages.pofile import read_po

    from server.i18n import CATALOGUES

    seen: dict[str, tuple[str, str]] = {}
    for path in sorted(CATALOGUES.glob("vi*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale="vi"):
                if not message.id or not message.string:
                    continue
                earlier = seen.setdefault(message.id, (path.name, message.string))
                assert earlier[1] == message.string, (
                    f"{message.id!r}: {earlier[0]} says {earlier[1]!r}, {path.name} says {message.string!r}"
                )


def test_the_readme_kiosk_tap_path_names_real_files_each_once():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("**A kiosk tap to the board, file by file**", 1)[1].split("**How data flows.**", 1)[0]
    steps = re.findall(r"^\d+\. `([^`]+)`", section, re.M)
    assert steps[0] == "kiosk/js/kiosk.js" and steps[-1] == "display/js/board.js"
    named = re.findall(r"`((?:server|kiosk|display|web|counter|dashboard)/[\w/]+\.(?:py|js))`", section)
    assert len(named) == len(set(named)), "a file is visited twice"
    for path in named:
        assert (ROOT / path).is_file(), f"{path} does not exist"
    architecture = readme.split("## Architecture", 1)[1].split("**A kiosk tap", 1)[0]
    for path in steps:
        assert Path(path).name in architecture, f"{path} is not named in the architecture tree"


#: English words a Vietnamese text should not keep ("check-in" has Vietnamese words: xác nhận lịch hẹn, …).
LEFTOVER_ENGLISH = re.compile(
    r"\b(check[- ]?in|checked|booking|slot|online|ticket|cancel|please|the|and|your|queue)\b", re.IGNORECASE
)


def test_no_vietnamese_translation_keeps_english_words():
    from babel.messages.pofile import read_po

    from server.i18n import CATALOGUES

    leftovers = []
    for path in sorted(CATALOGUES.glob("vi*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale="vi"):
                if not message.id or not isinstance(message.string, str):
                    continue
                text = re.sub(r"\{[^}]*\}|%\([^)]*\)s|<[^>]+>|https?://\S+|`[^`]*`", "", message.string)
                leftovers += [(path.name, message.string) for _ in LEFTOVER_ENGLISH.findall(text)[:1]]
    assert leftovers == []
