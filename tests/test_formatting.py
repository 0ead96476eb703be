"""One formatter for numbers and units: plots, tables, reports and the CLI agree."""

from __future__ import annotations

import math

import pytest

from rumorsim import formatting as fmt


@pytest.mark.parametrize("x, text", [
    (0, "0"), (42, "42"), (0.25, "0.25"), (1234, "1,234"), (9_990, "9,990"), (9_999, "10 k"),
    (12_500, "12.5 k"), (350_000, "350 k"), (999_999, "1 M"), (12_500_000, "12.5 M"),
    (2.95e6, "2.95 M"), (2.1e9, "2.1 bn"), (-1.6e8, "-160 M"), (math.nan, "–"), (None, "–"),
])
def test_numbers_in_real_people(x, text):
    assert fmt.format_number(x) == text


def test_billions_are_bn_not_bytes():
    """' B' means bytes in this tool (`3.5 GB`): people in billions are `bn` everywhere."""
    assert fmt.format_number(5.7e9) == "5.7 bn"
    assert fmt.format_bytes(3.5e9) == "3.5 GB" and fmt.format_bytes(512) == "512 B"


def test_values_with_units():
    assert fmt.format_value(0.662, "share of loads") == "66.2 %"
    assert fmt.format_value(14.5, "hour", time_unit="hour") == "14.5 h"
    assert fmt.format_value(3.0, "day", time_unit="day") == "3 day"
    assert fmt.format_value(3.2e6, "people", time_unit="hour") == "3.2 M"


def test_changes_are_signed_and_shares_in_points():
    assert fmt.format_change(2.2e6, "people") == "+2.2 M"
    assert fmt.format_change(-0.5, "hour", time_unit="hour") == "-0.5 h"
    assert fmt.format_change(0.031, "share") == "+3.1 pp"
    assert fmt.format_change(0.0, "people") == "0"


def test_plots_report_whatif_and_cli_use_the_same_formatter():
    """No module keeps its own copy of the rule (the three used to disagree)."""
    import inspect

    from rumorsim import cli, plots, report, whatif

    assert plots.format_number is fmt.format_number
    assert report.format_number is fmt.format_number
    assert whatif.format_value is fmt.format_value
    for module in (plots, report, whatif, cli):
        source = inspect.getsource(module)
        assert '" B"' not in source and '" bn"' not in source, module.__name__


def test_axis_ticks_share_one_scale():
    from rumorsim.plots import HumanFormatter

    f = HumanFormatter()
    f.set_locs([0, 1e9, 2e9, 3e9])
    assert [f(v) for v in (0, 1e9, 3e9)] == ["0", "1 bn", "3 bn"]
    f.set_locs([0, 5e8, 1e9, 1.5e9])
    assert f(1.5e9) == "1.5 bn" and f(5e8) == "0.5 bn"
    f.set_locs([0, 250, 500, 750, 1000])
    assert f(1000) == "1,000"
