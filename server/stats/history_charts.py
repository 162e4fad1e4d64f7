"""The history's charts (page and PDF report): arrivals and served by hour, the wait distribution, the daily
trend (counts on the left axis, average wait in minutes on the right) and the weekday × hour heatmap."""

from __future__ import annotations

from itertools import pairwise

from markupsafe import Markup

from server.i18n import translate
from server.stats import charts
from server.stats.models import WAIT_BUCKETS
from server.stats.queries import History

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def history_charts(result: History, language: str = "vi") -> dict[str, Markup]:
    """The four charts of a history, titled, with their axes, in `language`."""

    def t(message: str) -> str:
        return translate(message, language)

    hours = sorted(set(result.by_hour) | set(range(7, 18)))
    arrivals = [result.by_hour.get(h, [0])[0] for h in hours]
    served = [result.hour_figures(h)["served"] if h in result.by_hour else 0 for h in hours]
    days = result.days_in_range()
    by_day = [result.day_figures(d) if d in result.by_day else None for d in days]
    buckets = result.total_figures()["wait_histogram"]
    bucket_labels = [f"<{WAIT_BUCKETS[0]}", *(f"{a}–{b}" for a, b in pairwise(WAIT_BUCKETS)), f"≥{WAIT_BUCKETS[-1]}"]
    heat_hours = list(range(min(hours), max(hours) + 1))
    citizens = t("Citizens")
    return {
        "hourly": charts.bar_chart(
            "hourly",
            t("Arrivals and served by hour"),
            [f"{h:02d}" for h in hours],
            [(t("Arrivals"), arrivals), (t("Served"), served)],
            y_title=citizens,
            x_title=t("Hour of the day"),
            language=language,
        ),
        "waits": charts.bar_chart(
            "waits",
            t("Wait distribution (minutes)"),
            bucket_labels,
            [(citizens, buckets)],
            y_title=citizens,
            x_title=t("Wait to first call (minutes)"),
            language=language,
        ),
        "trend": charts.line_chart(
            "trend",
            t("Daily trend"),
            [d.strftime("%d/%m") for d in days],
            [
                (t("Arrivals"), [f["issued"] if f else 0 for f in by_day]),
                (t("Served"), [f["served"] if f else 0 for f in by_day]),
                (t("Average wait (min)"), [f["avg_wait_min"] if f else None for f in by_day]),
            ],
            y_title=citizens,
            right_series=2,
            right_title=t("Minutes"),
            language=language,
        ),
        "heatmap": charts.heatmap(
            "heatmap",
            t("Arrivals by weekday and hour"),
            [t(d) for d in WEEKDAYS],
            [f"{h:02d}" for h in heat_hours],
            [[result.heat.get((w, h), 0) for h in heat_hours] for w in range(7)],
            scale_title=t("Arrivals"),
            language=language,
        ),
    }
