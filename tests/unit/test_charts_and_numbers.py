"""Charts carry visible titles and axis titles, whole-number ticks on count axes, the trend's wait on its own
axis and the heatmap's scale; figures are written the Vietnamese way (Babel)."""

from __future__ import annotations

import re

import pytest

from server.stats import charts
from server.stats.numbers import count, decimal, figure, percent


def texts(svg: str, cls: str) -> list[str]:
    return re.findall(rf'<text class="{cls}"[^>]*>([^<]*)</text>', str(svg))


@pytest.mark.parametrize("largest", [0, 1, 3, 7, 10, 13, 250, 1249, 3760, 19766])
def test_count_axes_have_whole_ticks_that_cover_the_largest_value(largest):
    top, step = charts.nice_scale(largest, whole=True)
    assert step >= 1 and float(step).is_integer() and top >= largest
    assert top / step == charts.TICKS


def test_a_bar_chart_has_a_visible_title_axis_titles_and_whole_vietnamese_ticks():
    svg = charts.bar_chart(
        "hourly", "Lượt đến theo giờ", ["07", "08"], [("Lượt đến", [3, 1250])], y_title="Công dân", x_title="Giờ"
    )
    assert texts(svg, "chart-title") == ["Lượt đến theo giờ"]
    assert texts(svg, "axis-title") == ["Công dân", "Giờ"]
    assert texts(svg, "tick")[:5] == ["0", "500", "1.000", "1.500", "2.000"]  # no 312.5, 1250 → 1.250 style


def test_the_daily_trend_draws_the_wait_on_its_own_axis():
    svg = str(
        charts.line_chart(
            "trend",
            "Diễn biến theo ngày",
            ["01/11", "02/11", "03/11"],
            [("Lượt đến", [1200, 900, 1000]), ("Đã phục vụ", [1180, 890, 990]), ("Chờ TB (phút)", [5.5, 12.25, 3.0])],
            y_title="Công dân",
            right_series=2,
            right_title="Phút",
            language="vi",
        )
    )
    assert texts(svg, "axis-title") == ["Công dân", "Phút"]
    wait_dots = re.findall(r'<circle class="dot s2" cx="[\d.]+" cy="([\d.]+)"', svg)
    arrival_dots = re.findall(r'<circle class="dot s0" cx="[\d.]+" cy="([\d.]+)"', svg)
    plot_bottom = charts.HEIGHT - charts.BOTTOM
    # 12.25 minutes is most of its own axis (0–20), not a speck at the bottom of a 0–1,200 axis
    assert plot_bottom - float(wait_dots[1]) > 0.5 * (plot_bottom - charts.TOP)
    assert min(float(y) for y in arrival_dots) < plot_bottom - 0.5 * (plot_bottom - charts.TOP)
    right_ticks = re.findall(r'<text class="tick" x="([\d.]+)"[^>]*text-anchor="start">([^<]*)</text>', svg)
    assert [t for _x, t in right_ticks] == ["0", "5", "10", "15", "20"]


def test_the_heatmap_has_its_scale():
    svg = str(
        charts.heatmap(
            "heatmap",
            "Lượt đến theo thứ và giờ",
            ["T2", "T3"],
            ["08", "09"],
            [[0, 40], [10, 910]],
            scale_title="Lượt đến",
        )
    )
    assert svg.count('class="cell scale"') == 5
    assert "Lượt đến" in texts(svg, "axis-title")
    assert {"910", "0"} <= set(texts(svg, "tick"))


def test_figures_are_written_the_vietnamese_way_and_the_english_way():
    assert count(19766) == "19.766" and decimal(1.84) == "1,8" and percent(0.9125) == "91,3%"
    assert figure(None, "min") == "–"
    assert count(19766, "en") == "19,766" and decimal(1.84, "en") == "1.8" and percent(1.0, "en") == "100.0%"
