"""A site's settings (`Site.settings`): its queue rules (server.domain.rules.SiteRules), its calendar and the
words of its printed reports.

Every SiteRules field is a setting here. The ones described in RULES get their label and meaning; a field
added to SiteRules later is still shown and checked by the type of its default. Report settings
(REPORT) are read by the PDF report (server.stats.report_header). The keys of the box of other settings that
the server reads are checked too: `counter_clerks` (counter number → usernames), OTHER (`board_notice`,
`tracking_near_places`, `nham`), `oidc` and `messaging`. Other keys are kept as they are, once they hold plain
JSON (no infinite or "not a number" value).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import MISSING, fields
from typing import Any

from server.auth import canonical_username
from server.configuration.fields import Setting, SettingProblem, check_plain, check_value
from server.configuration.figures import COUNTER_NUMBER
from server.domain.errors import N_
from server.domain.rules import SiteRules
from server.domain.vocabulary import RatingScore

SCORE_LABELS = {
    RatingScore.VERY_SATISFIED: N_("Very satisfied"),
    RatingScore.SATISFIED: N_("Satisfied"),
    RatingScore.NEUTRAL: N_("Neutral"),
    RatingScore.UNSATISFIED: N_("Unsatisfied"),
}

RULES: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting(
            "priority_streak_limit",
            N_("Priority calls in a row"),
            N_("After this many priority calls at a counter, the longest-waiting ordinary citizen goes next."),
            "int",
            minimum=1,
            maximum=50,
        ),
        Setting(
            "ordinary_aging_minutes",
            N_("Ordinary citizens catch up after (min)"),
            N_("An ordinary ticket that has waited this long is called like a priority one."),
            "int",
            minimum=0,
            maximum=600,
        ),
        Setting(
            "appointment_early_minutes",
            N_("Appointments: early by (min)"),
            N_("How early an appointment may be called before its slot."),
            "int",
            minimum=0,
            maximum=240,
        ),
        Setting(
            "appointment_late_minutes",
            N_("Appointments: late by (min)"),
            N_("How late an appointment keeps its priority after its slot."),
            "int",
            minimum=0,
            maximum=240,
        ),
        Setting(
            "booking_lapse_minutes",
            N_("Bookings lapse after (min)"),
            N_(
                "A booking not checked in this long after its slot lapses; checked in later than the late window it "
                "is an ordinary number."
            ),
            "int",
            minimum=0,
            maximum=1440,
        ),
        Setting(
            "online_lapse_time",
            N_("Online numbers lapse at"),
            N_("HH:MM: online numbers still waiting then are cancelled; empty: at the end of the day."),
            max_length=5,
        ),
        Setting(
            "recall_limit",
            N_("Recalls"),
            N_("How many times a clerk may call a citizen again."),
            "int",
            minimum=0,
            maximum=10,
        ),
        Setting(
            "no_show_after_recall_limit",
            N_("Absent after the last recall"),
            N_("The recall after the last one marks the citizen absent."),
            "bool",
        ),
        Setting(
            "rating_scale",
            N_("Rating choices"),
            N_("What the rating tablet and the phone offer."),
            "scores",
            tuple((str(score), label) for score, label in SCORE_LABELS.items()),
        ),
        Setting(
            "rating_tablet_minutes",
            N_("Tablet rating within (min)"),
            N_("How long after Finish the counter's tablet may still rate; the phone until the day ends."),
            "int",
            minimum=1,
            maximum=1440,
        ),
        Setting(
            "rating_reasons",
            N_("Reasons offered"),
            N_("The reasons a citizen may tick after a low score (one a line)."),
            "lines",
            max_length=120,
        ),
        Setting(
            "rating_reason_scores",
            N_("Reasons after the scores"),
            N_("After which scores the reasons are offered."),
            "scores",
            tuple((str(score), label) for score, label in SCORE_LABELS.items()),
        ),
        Setting(
            "announcement_template",
            N_("Announcement"),
            N_("What the boards say: {so} is the number, {quay} the counter."),
            max_length=300,
        ),
        Setting(
            "number_region",
            N_("Numbers read the way of the"),
            N_("North: linh, nghìn; South: lẻ, ngàn."),
            "choice",
            (("north", N_("North")), ("south", N_("South"))),
        ),
        Setting("digit_by_digit", N_("Numbers digit by digit"), N_("“một không hai ba” instead of words."), "bool"),
        Setting(
            "holidays",
            N_("Holidays"),
            N_("Days the site is closed all day, whatever the services' hours (one date per line, YYYY-MM-DD)."),
            "dates",
        ),
        Setting(
            "issue_outside_hours",
            N_("Take tickets at any hour (demo)"),
            N_("Kiosks issue numbers outside opening hours and on holidays. For demonstrations only."),
            "bool",
        ),
        Setting(
            "person_limit_per_day",
            N_("Numbers a person may hold a day"),
            N_("Kiosk, online numbers and bookings of one phone or ID number on one day here; 0 = no limit."),
            "int",
            minimum=0,
            maximum=50,
        ),
        Setting(
            "person_limit_per_service",
            N_("Numbers a person may hold for one service"),
            N_("Of one phone or ID number, for one service on one day; 0 = no limit."),
            "int",
            minimum=0,
            maximum=50,
        ),
    )
}

REPORT: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting(
            "report_parent_unit",
            N_("Report: governing body"),
            N_("Printed above the issuing unit, e.g. ỦY BAN NHÂN DÂN TỈNH …"),
            max_length=150,
        ),
        Setting(
            "report_unit",
            N_("Report: issuing unit"),
            N_("Printed at the top left of the PDF report; empty = the site's name."),
            max_length=150,
        ),
        Setting(
            "report_place", N_("Report: place"), N_("Before the date of signature, e.g. Thanh Hóa."), max_length=80
        ),
        Setting(
            "report_signer_title",
            N_("Report: signer's title"),
            N_("Above the signature, e.g. GIÁM ĐỐC; empty = no signature block."),
            max_length=100,
        ),
        Setting("report_signer_name", N_("Report: signer's name"), max_length=100),
    )
}


#: Keys of the box of other settings read by the boards, the phone page and the voice (no form field of their own).
OTHER: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting("board_notice", "board_notice", max_length=500),  # display/routes.py: a board without a notice
        Setting("tracking_near_places", "tracking_near_places", kind="int", minimum=1, maximum=50),  # /t/<token>
        Setting("nham", "nham", kind="bool"),  # server/voice: a final 5 after "mươi" read "nhăm"
    )
}
COUNTER_CLERKS = "counter_clerks"
CLERKS_EXAMPLE = '{"1": ["clerk01", "clerk02"]}'
OIDC_TEXTS = ("issuer", "client_id", "client_secret", "scopes", "id_claim")  # server/identity/oidc.py


def _generic(name: str, default: Any) -> Setting:
    """A SiteRules field no one described yet: checked by the type of its default."""
    if isinstance(default, bool):
        return Setting(name, name, kind="bool")
    if isinstance(default, int):
        return Setting(name, name, kind="int")
    if isinstance(default, list):
        return Setting(name, name, kind="lines")
    return Setting(name, name)


def rule_settings() -> list[tuple[Setting, Any]]:
    """(setting, default) for every SiteRules field, in the dataclass's order."""
    result = []
    for f in fields(SiteRules):
        if f.name == "extra":
            continue
        default: Any = None
        if f.default is not MISSING:
            default = f.default
        elif f.default_factory is not MISSING:
            default = f.default_factory()
        if isinstance(default, dict) and f.name not in RULES:
            continue  # a mapping (e.g. counter_clerks) has no form field: it stays in the box of other settings
        if isinstance(default, tuple):
            default = list(default)
        result.append((RULES.get(f.name) or _generic(f.name, default), default))
    return result


def check_site_settings(settings: dict[str, Any], usernames: Collection[str] | None = None) -> dict[str, Any]:
    """The settings as stored: rules, report words and the known keys of other settings checked (SettingProblem
    with the reason, its `field` the key), a rule equal to its default dropped (the site follows the default if
    it changes), other keys kept. With `usernames` (canonical: the staff who may work at the site), every name
    of `counter_clerks` must be one of them."""
    if not isinstance(settings, dict):
        raise SettingProblem("settings", N_("Expected a JSON object."))
    result = dict(settings)
    own_fields = {s.name for s, _d in rule_settings()} | set(REPORT)
    for key, value in settings.items():
        if key in OTHER:
            result[key] = check_value(OTHER[key], value)
        elif key == COUNTER_CLERKS:
            result[key] = check_counter_clerks(value, usernames)
        elif key == "oidc":
            result[key] = _check_oidc(value)
        elif key not in own_fields:
            check_plain(key, value)
    for setting, default in rule_settings():
        if setting.name not in settings:
            continue
        value = check_value(setting, settings[setting.name])
        if value == default:
            result.pop(setting.name)
        else:
            result[setting.name] = value
    for setting in REPORT.values():
        if setting.name in settings:
            value = check_value(setting, settings[setting.name]).strip()
            if value:
                result[setting.name] = value
            else:
                result.pop(setting.name)
    _check_announcement(result)
    _check_lapse_time(result)
    _check_messaging(result)
    return result


def check_counter_clerks(
    value: Any, usernames: Collection[str] | None = None, counters: Collection[int] | None = None
) -> dict[str, list[str]]:
    """`counter_clerks` as stored: {counter number (1–999, as text): [canonical usernames]}. One username alone
    is read as a list of one; a counter needs at least one name (an empty list kept it for nobody, which no one
    meant to type). With `usernames`, each name must be one of them; with `counters` (the site's counter
    numbers), each counter must be one of them. Raises SettingProblem."""
    if not isinstance(value, dict):
        raise SettingProblem(
            COUNTER_CLERKS,
            N_("Must map a counter number to a list of usernames, e.g. {example}."),
            example=CLERKS_EXAMPLE,
        )
    result: dict[str, list[str]] = {}
    for key, names in value.items():
        number = _counter_number(key)
        if number in result:
            raise SettingProblem(COUNTER_CLERKS, N_("Counter {counter} is listed twice."), counter=key)
        listed = [names] if isinstance(names, str) else names
        if not isinstance(listed, list) or not all(isinstance(name, str) for name in listed):
            raise SettingProblem(
                COUNTER_CLERKS,
                N_("Counter {counter} needs a list of usernames, e.g. {example}."),
                counter=key,
                example=CLERKS_EXAMPLE,
            )
        if counters is not None and int(number) not in counters:
            raise SettingProblem(
                COUNTER_CLERKS, N_("Counter {counter}: this site has no counter with this number."), counter=key
            )
        result[number] = list(dict.fromkeys(canonical_username(n) for n in listed if n.strip()))
        if not result[number]:
            raise SettingProblem(
                COUNTER_CLERKS,
                N_("Counter {counter} needs at least one username, e.g. {example}."),
                counter=key,
                example=CLERKS_EXAMPLE,
            )
        unknown = [name for name in result[number] if usernames is not None and name not in usernames]
        if unknown:
            raise SettingProblem(
                COUNTER_CLERKS,
                N_("Counter {counter}: {names} is not a user who may work at this site."),
                counter=key,
                names=", ".join(unknown),
            )
    return result


def _counter_number(key: Any) -> str:
    """A key of `counter_clerks` as the counter number it names ("01" → "1"). Raises SettingProblem."""
    text = str(key).strip()
    try:
        COUNTER_NUMBER.check(COUNTER_CLERKS, int(text) if text.isascii() and text.isdigit() else None)
    except SettingProblem:
        raise SettingProblem(COUNTER_CLERKS, N_("{counter} is not a counter number (1–999)."), counter=key) from None
    return str(int(text))


def _check_oidc(value: Any) -> dict[str, Any]:
    """The site's own OpenID Connect provider (server.identity.oidc): texts and `enabled`. Raises SettingProblem."""
    if not isinstance(value, dict):
        raise SettingProblem("oidc", N_("Expected a table of: {names}."), names=", ".join((*OIDC_TEXTS, "enabled")))
    for key, item in value.items():
        if key == "enabled":
            check_value(Setting("oidc.enabled", "enabled", kind="bool"), item)
        elif key in OIDC_TEXTS:
            check_value(Setting(f"oidc.{key}", key, max_length=500), item)
        else:
            raise SettingProblem(
                f"oidc.{key}", N_("Unknown key; expected one of: {names}."), names=", ".join((*OIDC_TEXTS, "enabled"))
            )
    return value


def _check_lapse_time(settings: dict[str, Any]) -> None:
    """`online_lapse_time` is empty or a time of day (HH:MM)."""
    from server.domain.hours import HoursError, parse_time

    text = str(settings.get("online_lapse_time") or "")
    if not text:
        return
    try:
        parse_time(text)
    except HoursError as exc:
        raise SettingProblem("online_lapse_time", exc.text, **exc.params) from exc


def _check_messaging(settings: dict[str, Any]) -> None:
    """The message channels (server.messaging.config) are usable: a bad address, port or template table refused."""
    from server.messaging.config import ConfigProblem, check_messaging

    try:
        check_messaging(settings)
    except ConfigProblem as exc:
        raise SettingProblem(f"messaging.{exc.where}", exc.text) from exc


def _check_announcement(settings: dict[str, Any]) -> None:
    """The announcement wording can be spoken (server.voice checks the template and the region)."""
    from server.voice.announce import VoiceSettings

    rules = SiteRules.from_settings(settings)
    if "{so}" not in rules.announcement_template:
        raise SettingProblem("announcement_template", N_("The announcement must say the number: write {so} in it."))
    if "{so}" not in rules.recall_template:
        raise SettingProblem("recall_template", N_("The announcement must say the number: write {so} in it."))
    for name, template, recall in (
        ("announcement_template", rules.announcement_template, VoiceSettings.recall_template),
        ("recall_template", VoiceSettings.template, rules.recall_template),
    ):
        try:
            VoiceSettings(template=template, recall_template=recall, region=rules.number_region)
        except ValueError as exc:
            raise SettingProblem(name, N_("The announcement cannot be spoken: {reason}"), reason=str(exc)) from exc
