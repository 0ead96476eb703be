"""Plots: every figure function returns a titled Figure with labelled axes, marks the
interventions, keeps labels and legends off the data, and uses one colour per state."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.legend import Legend

from rumorsim import plots
from rumorsim.errors import OutputError
from rumorsim.results import Results, ensemble_band

from test_results import sir_results, wechat_layer, wechat_results


@pytest.fixture(scope="module")
def wechat() -> Results:
    return wechat_results(replicates=3)


@pytest.fixture(scope="module")
def sir() -> Results:
    return sir_results()


@pytest.fixture(scope="module")
def figure(wechat: Results):
    """figure("plot_dashboard"): each WeChat figure built once per module (tests only read)."""
    cache: dict = {}

    def get(name: str) -> Figure:
        if name not in cache:
            cache[name] = getattr(plots, name)(wechat)
        return cache[name]

    return get


def _panels(fig: Figure):
    """Plot panels: axes that draw lines (not legend columns, twins or tables)."""
    return [ax for ax in fig.axes if ax.axison and ax.get_lines() and ax.get_ylabel()
            and ax.get_subplotspec() is not None and not _is_twin(ax)]


def _is_twin(ax) -> bool:
    return any(other is not ax and other.bbox.bounds == ax.bbox.bounds and other.get_ylabel()
               for other in ax.figure.axes) and ax.yaxis.get_label_position() == "right"


def _marker_texts(fig: Figure):
    return [t for ax in fig.axes for t in ax.texts]


def _check_titled_and_labelled(fig: Figure, title: str) -> None:
    assert isinstance(fig, Figure)
    assert fig._suptitle is not None and fig._suptitle.get_text() == title
    panels = _panels(fig)
    assert panels, "no plot panels"
    for ax in panels:
        assert ax.get_title(loc="left") or ax.get_title(), "panel without a title"
        assert ax.get_ylabel(), "panel without a y label"
    assert any(ax.get_xlabel() for ax in panels), "no x label"


def test_plot_traits_without_clock_or_scaling(sir: Results) -> None:
    fig = plots.plot_traits(sir_results(represents=None))
    _check_titled_and_labelled(fig, "SIR test")
    (ax,) = _panels(fig)
    assert ax.get_ylabel() == "agents"
    assert ax.get_xlabel() == "time (day)"
    assert [l.get_label() for l in ax.get_lines()] == ["S", "I", "R"]
    fig = plots.plot_traits(sir)
    assert _panels(fig)[0].get_ylabel() == "people (scaled from 100 agents)"


def test_plot_traits_clock_axis_people_and_interventions(wechat: Results, figure) -> None:
    fig = figure("plot_traits")
    _check_titled_and_labelled(fig, wechat.scenario.name)
    panels = _panels(fig)
    assert [ax.get_title(loc="left") for ax in panels] == ["link", "rumor", "card"]
    assert panels[-1].get_xlabel().startswith("clock time (UTC+08:00)")
    assert "10 Jan 2016, 20:00" in panels[-1].get_xlabel()
    assert panels[0].get_ylabel() == "people (scaled from 2,000 agents)"
    # the tick labels are readable real-people numbers
    fig.draw_without_rendering()
    ticks = [t.get_text() for t in panels[0].get_yticklabels()]
    assert any(t.endswith(" M") for t in ticks), ticks
    # every intervention: a dashed line on every panel and one label on the top panel
    labels = {t.get_text() for t in _marker_texts(fig)}
    assert labels == {"media debunk", "servers x2", "notice on transfer page", "founder on stage"}
    for ax in panels:
        xs = [l.get_xdata()[0] for l in ax.get_lines() if l.get_linestyle() == "--"]
        assert len(xs) == 4
    # the median line is the median over replicates, in people
    believer = next(l for l in panels[1].get_lines() if l.get_label() == "believer")
    med, _, _ = ensemble_band(wechat.count_array({"rumor": "believer"}) * wechat.people_per_agent)
    np.testing.assert_allclose(believer.get_ydata(), med)


def _overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


@pytest.mark.parametrize("make", ["plot_traits", "plot_dashboard", "plot_signals"])
def test_marker_labels_overlap_neither_each_other_nor_the_data(figure, make: str) -> None:
    fig = figure(make)
    fig.draw_without_rendering()
    r = fig.canvas.get_renderer()
    for ax in fig.axes:
        boxes = [t.get_window_extent(r) for t in ax.texts]
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                assert not _overlaps(boxes[i], boxes[j]), (ax.texts[i].get_text(), ax.texts[j].get_text())
        if not boxes:
            continue
        lowest = min(b.y0 for b in boxes)
        for line in ax.get_lines():
            if line.get_linestyle() == "--" or len(line.get_xdata()) < 3:
                continue  # marker lines and brackets
            y = ax.transData.transform(np.c_[line.get_xdata(), line.get_ydata()])[:, 1]
            assert y.max() <= lowest + 1, f"{line.get_label()} runs into the marker labels"


@pytest.mark.parametrize("make", ["plot_traits", "plot_dashboard", "plot_signals"])
def test_legends_sit_beside_the_panels_inside_the_figure(figure, make: str) -> None:
    fig = figure(make)
    fig.draw_without_rendering()
    r = fig.canvas.get_renderer()
    legends = [c for ax in fig.axes for c in ax.get_children() if isinstance(c, Legend)]
    assert legends
    panels = [ax.get_window_extent(r) for ax in _panels(fig)]
    for leg in legends:
        box = leg.get_window_extent(r)
        assert box.x1 <= fig.bbox.x1 + 1, "legend cut off at the right edge"
        assert not any(_overlaps(box, p) for p in panels), "legend on top of a panel"


def test_plot_dashboard_panels_twin_axis_and_alert(wechat: Results, figure) -> None:
    fig = figure("plot_dashboard")
    _check_titled_and_labelled(fig, wechat.scenario.name)
    titles = [ax.get_title(loc="left") for ax in _panels(fig)]
    assert titles == ["The link spreads through Moments", "The rumor", "Bank cards", "Servers"]
    twins = [ax for ax in fig.axes if ax.get_ylabel() == "failed loads"]
    assert len(twins) == 1
    assert isinstance(twins[0].yaxis.get_major_formatter(), matplotlib.ticker.PercentFormatter)
    servers = _panels(fig)[3]
    assert servers.get_ylabel() == "page loads / hour"
    alert = [l for l in twins[0].get_lines() if np.allclose(l.get_ydata(), 0.2)]
    assert alert, "the failure share's alert level is drawn"
    # cumulative firings come from fired_total, in people
    ever = next(l for l in _panels(fig)[2].get_lines() if l.get_label() == "ever unbound")
    med, _, _ = ensemble_band(wechat.fired_array(["unbind"]) * wechat.people_per_agent)
    np.testing.assert_allclose(ever.get_ydata(), med)


def test_plot_dashboard_falls_back_to_traits(sir: Results) -> None:
    fig = plots.plot_dashboard(sir)
    _check_titled_and_labelled(fig, "SIR test")
    assert [l.get_label() for l in _panels(fig)[0].get_lines()] == ["S", "I", "R"]


def test_plot_signals(wechat: Results, sir: Results, figure) -> None:
    assert plots.plot_signals(sir) is None
    fig = figure("plot_signals")
    _check_titled_and_labelled(fig, f"{wechat.scenario.name}: signals")
    assert [ax.get_title(loc="left") for ax in _panels(fig)] == [
        "page demand", "server capacity", "failed page loads"]


def test_same_state_same_colour_across_figures(figure) -> None:
    traits = figure("plot_traits")
    dash = figure("plot_dashboard")
    t = next(l for ax in _panels(traits) for l in ax.get_lines() if l.get_label() == "believer")
    d = next(l for ax in _panels(dash) for l in ax.get_lines() if l.get_label() == "believers")
    assert t.get_color() == d.get_color() == plots.state_color("believer")
    assert plots.state_color("some_new_state") == plots.state_color("some_new_state")


def _compare_df(variants: dict) -> pd.DataFrame:
    names = list(variants)
    base = variants[names[0]].outcome_values().pivot(index="replicate", columns="outcome",
                                                      values="value")
    rows = []
    for v, res in variants.items():
        ov = res.outcome_values().pivot(index="replicate", columns="outcome", values="value")
        tab = res.outcome_table().set_index("outcome")
        for o in ov.columns:
            med, lo, hi = ensemble_band(ov[o].to_numpy())
            dm, dl, dh = ensemble_band((ov[o] - base[o]).to_numpy())
            rows.append(dict(variant=v, outcome=o, label=tab.loc[o, "label"], unit=tab.loc[o, "unit"],
                             median=med, low=lo, high=hi, diff_median=dm, diff_low=dl, diff_high=dh))
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def variants(wechat: Results) -> dict:
    return {"baseline": wechat, "debunk at hour 8": wechat_results(replicates=3, debunk_at=8.0)}


def test_plot_variants_overlays_each_variant(variants: dict) -> None:
    cmp = _compare_df(variants)
    fig = plots.plot_variants(variants, cmp)
    _check_titled_and_labelled(fig, "WeChat leak to rumor (synthetic): what-if comparison")
    rumor = _panels(fig)[1]
    colors = {l.get_color() for l in rumor.get_lines() if l.get_linestyle() == "-"
              and len(l.get_xdata()) > 2}
    assert len(colors) == 2
    labels = {t.get_text() for t in _marker_texts(fig)}
    assert "media debunk (debunk at hour 8)" in labels and "media debunk (baseline)" in labels
    assert "founder on stage" in labels
    assert any(ax.tables for ax in fig.axes), "outcome table drawn"
    # without a dashboard: one panel per trait, the starting state left out
    sir_fig = plots.plot_variants({"a": sir_results(seed=1), "b": sir_results(seed=2)})
    assert [l.get_label() for l in _panels(sir_fig)[0].get_lines()][:2] == ["I", "I"]


def test_plot_outcome_comparison(variants: dict) -> None:
    cmp = _compare_df(variants)
    fig = plots.plot_outcome_comparison(cmp)
    assert fig._suptitle.get_text() == "What-if comparison: outcomes by variant"
    n = cmp.outcome.nunique()
    assert len(fig.axes) == 2 * n
    for ax in fig.axes:
        assert ax.get_title(loc="left") and ax.get_xlabel()
    with pytest.raises(ValueError, match="diff_median"):
        plots.plot_outcome_comparison(cmp.drop(columns=["diff_median"]))


def test_plot_sweep_heatmap() -> None:
    df = pd.DataFrame([dict(debunk_hour=d, capacity=c, rep=k, believers=1e6 * d / c + k)
                       for d in (1, 3, 6) for c in (1, 2) for k in range(3)])
    fig = plots.plot_sweep_heatmap(df, "debunk_hour", "capacity", "believers", title="Sweep")
    ax = fig.axes[0]
    assert fig._suptitle.get_text() == "Sweep" and ax.get_xlabel() == "debunk hour" and ax.get_ylabel() == "capacity"
    assert len(ax.texts) == 6
    assert "believers" in fig.axes[1].get_ylabel()
    with pytest.raises(ValueError, match="nope"):
        plots.plot_sweep_heatmap(df, "nope", "capacity", "believers", title="x")


def test_network_snapshot_and_animation(tmp_path: Path) -> None:
    res = wechat_results(replicates=1, n_agents=120)
    layer = wechat_layer(120)
    codes = np.random.default_rng(0).integers(0, 24, 120)
    fig = plots.plot_network_snapshot(layer, codes, res.info, trait="rumor")
    ax = fig.axes[0]
    assert ax.get_title(loc="left").startswith("rumor")
    assert len(ax.collections[1].get_facecolors()) == 120
    hist = np.stack([codes, np.roll(codes, 1), np.roll(codes, 2)])
    gif = plots.animate_network(layer, hist, res.info, tmp_path / "net.gif", times=[0, 1, 2],
                                time_unit="hour")
    assert gif.read_bytes()[:6] in (b"GIF89a", b"GIF87a")
    assert [p.name for p in tmp_path.iterdir()] == ["net.gif"]


def test_network_snapshot_refuses_big_graphs() -> None:
    big = wechat_layer(plots.MAX_SNAPSHOT_AGENTS + 1, k=1)
    res = wechat_results(replicates=1, n_agents=50)
    with pytest.raises(OutputError, match="at most 2,000 agents"):
        plots.plot_network_snapshot(big, np.zeros(big.n_agents, int), res.info)


def test_number_formats() -> None:
    assert plots.format_number(12_500_000) == "12.5 M"
    assert plots.format_number(350_000) == "350 k"
    assert plots.format_number(0) == "0"
    assert plots.format_value(0.25, "share of loads") == "25 %"
    f = plots.HumanFormatter()
    f.set_locs([0, 250, 500, 750, 1000])
    assert [f(v) for v in [0, 250, 500, 750, 1000]] == ["0", "250", "500", "750", "1,000"]
    f.set_locs([0, 2.5e6, 5e6, 7.5e6])
    assert [f(v) for v in [0, 2.5e6, 5e6, 7.5e6]] == ["0", "2.5 M", "5.0 M", "7.5 M"]


def test_save_figure_writes_png_and_svg_atomically(tmp_path: Path, sir: Results) -> None:
    out = plots.save_figure(plots.plot_traits(sir), tmp_path / "traits")
    assert sorted(p.name for p in out) == ["traits.png", "traits.svg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["traits.png", "traits.svg"]


def test_series_of_one_panel_never_share_a_colour(figure) -> None:
    # "opened it" is {link: [visited, shared]}: a set of states gets its own colour
    fig = figure("plot_dashboard")
    for ax in fig.axes:
        data_lines = [l for l in ax.get_lines() if len(l.get_xdata()) > 2]
        colors = [l.get_color() for l in data_lines]
        assert len(colors) == len(set(colors)), [l.get_label() for l in data_lines]
