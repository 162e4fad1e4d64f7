"""A site's settings (`Site.settings`): its queue rules (server.domain.rules.SiteRules), its calendar and the
words of its printed reports.

Every SiteRules field is a setting here. The ones described in RULES get their label and meaning; a field
added to SiteRules later is still shown and checked by the type of its default. Report settings
(REPORT) are read by the PDF report (server.stats.report_header). Other keys are kept as they are.
"""

from __future__ import annotations

from dataclasses import MISSING, fields
from typing import Any

from server.configuration.fields import Setting, SettingProblem, check_value
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


def check_site_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings as stored: rules and report words checked (SettingProblem with the reason), a rule equal to
    its default dropped (the site follows the default if it changes), other keys kept."""
    if not isinstance(settings, dict):
        raise SettingProblem("settings", N_("Expected a JSON object."))
    result = dict(settings)
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
    _check_messaging(result)
    return result


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
    try:
        VoiceSettings(template=rules.announcement_template, region=rules.number_region)
    except ValueError as exc:
        raise SettingProblem(
            "announcement_template", N_("The announcement cannot be spoken: {reason}"), reason=str(exc)
        ) from exc
