"""Animations for slides: the network and the curves side by side, frame by frame.

One replicate of a finished run is replayed with per-agent history
(``rumorsim.engine.record_agent_states``, bit-identical to the same replicate of the run).
The network is laid out once (networkx spring layout with a fixed seed; a circle for a
complete graph) and kept still; each frame colours the agents by their state of one
trait, and the curves of that trait grow on the right up to the frame's time, over the
whole run drawn faintly (and the mean-field curves dashed, when given).

Frames are the run's report times, with the tail where nothing changes any more cut
(a few held frames remain) and thinned evenly to at most ``max_frames``, so that a
300-agent SIR fits a slide deck in a few MB. GIFs are written with Pillow (which
matplotlib already needs); MP4 needs ffmpeg: the one on the PATH, else the binary of the
``imageio-ffmpeg`` package (``pip install "rumorsim[animate]"``), and a clear error says
so when there is none.

Examples
--------
>>> import rumorsim as rs
>>> from rumorsim.animate import write_animation
>>> res = rs.run("classic/sir", overrides=["population.agents=300"], replicates=1, seed=3)  # doctest: +SKIP
>>> write_animation(res, "sir.gif")                                                        # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Tuple, Union

import matplotlib
import numpy as np

from .engine import record_agent_states
from .errors import OutputError
from .outputs import replacing
from .seeds import describe_seed, seed_from_record
from .plots import (
    MAX_SNAPSHOT_AGENTS,
    MEANFIELD_STYLE,
    _distinct_colors,
    _draw_network,
    _RC,
    _new_figure,
    _time_axis,
    format_number,
    network_layout,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .results import Results

#: Formats by file suffix.
FORMATS = {".gif": "pillow", ".mp4": "ffmpeg"}
#: Frames held at the end (the final state stays on screen a moment).
_HOLD = 4


def ffmpeg_rc() -> dict:
    """rc settings that point matplotlib at an ffmpeg: the one on the PATH, else the binary
    the ``imageio-ffmpeg`` package ships (``pip install "rumorsim[animate]"``), else none."""
    import shutil

    if shutil.which(matplotlib.rcParams["animation.ffmpeg_path"]):
        return {}
    try:
        import imageio_ffmpeg
    except ModuleNotFoundError:
        return {}
    return {"animation.ffmpeg_path": imageio_ffmpeg.get_ffmpeg_exe()}


def _writer(path: Path, fps: int) -> Any:
    from matplotlib import animation

    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise OutputError("an animation is written as .gif or .mp4", file=str(path),
                          found=path.suffix or "(no suffix)", expected=".gif or .mp4")
    with matplotlib.rc_context(ffmpeg_rc() if kind == "ffmpeg" else {}):
        available = animation.writers.is_available(kind)
    if not available:
        if kind == "ffmpeg":
            raise OutputError(
                "writing an MP4 needs ffmpeg, which was not found", file=str(path),
                suggestion='Install it with pip install "rumorsim[animate]" (a bundled ffmpeg) '
                           "or your system's package manager (apt-get install ffmpeg), or "
                           "write a .gif instead")
        raise OutputError("writing a GIF needs the Pillow package", file=str(path),
                          suggestion="pip install pillow")
    if kind == "pillow":
        return animation.PillowWriter(fps=fps)
    # yuv420p: the pixel format every player and slide program accepts
    return animation.FFMpegWriter(fps=fps, codec="libx264", extra_args=["-pix_fmt", "yuv420p"])


def check_output(path: Union[str, os.PathLike], *, overwrite: bool = False, fps: int = 8) -> Any:
    """Refuse, before any work, a file that exists, an unknown suffix or a missing encoder;
    return the matplotlib writer for it."""
    path = Path(path)
    writer = _writer(path, fps)
    if path.exists() and not overwrite:
        raise OutputError("the file exists; nothing was overwritten", file=str(path),
                          suggestion="Pass --overwrite, or choose another file name")
    return writer


def choose_frames(states: np.ndarray, max_frames: int) -> np.ndarray:
    """Indices of the report times to show: up to the last change (plus a few held
    frames), thinned evenly to at most ``max_frames`` (always keeping the first and last).

    Parameters
    ----------
    states : (n_reports, n_agents) states of the agents at each report time.
    max_frames : the most frames wanted (>= 2).
    """
    n = len(states)
    changed = np.nonzero((states[1:] != states[:-1]).any(axis=1))[0]
    last = int(changed[-1]) + 1 if len(changed) else 0
    end = min(n - 1, last + _HOLD)
    if end + 1 <= max_frames:
        return np.arange(end + 1)
    return np.unique(np.round(np.linspace(0, end, max_frames)).astype(int))


def _sunflower(n: int) -> np.ndarray:
    """Evenly spread points filling a disc (Vogel's spiral): on a complete graph, where
    every agent sees every other, position means nothing and every agent stays visible."""
    i = np.arange(n) + 0.5
    r = np.sqrt(i / n)
    a = i * np.pi * (3 - np.sqrt(5))  # the golden angle
    return np.c_[r * np.cos(a), r * np.sin(a)]


def _pull_in(pos: np.ndarray) -> np.ndarray:
    """Bring stray agents (isolated ones, small components that the spring layout pushes
    far away) to the edge of the main picture, so that it fills the panel."""
    lo, hi = np.percentile(pos, [2, 98], axis=0)
    pad = 0.08 * (hi - lo)
    return np.clip(pos, lo - pad, hi + pad)


def _layer_for(results: "Results", trait: str, layer: Optional[str]) -> Any:
    """The layer to draw: the one given, else the first the trait's induced rules read."""
    net = results.network
    if layer is not None:
        return net.layer(layer)
    for t in results.scenario.transitions:
        spec = t.induced_by or t.threshold
        if spec is not None and trait in t.from_:
            return net.layer(spec.layer)
    return net.layers[0]


def write_animation(results: "Results", path: Union[str, os.PathLike], *,
                    trait: Optional[str] = None, replicate: int = 0, layer: Optional[str] = None,
                    fps: int = 8, max_frames: int = 90, layout_seed: int = 0,
                    meanfield: Optional["pd.DataFrame"] = None, dpi: int = 80,
                    overwrite: bool = False) -> Path:
    """Write a GIF or MP4 of one replicate: the network on the left, the curves on the right.

    Parameters
    ----------
    results : a run made in this session (``rumorsim.run``), which keeps its network.
    path : ``.gif`` or ``.mp4``; written atomically.
    trait : the trait that colours the agents and is plotted (default: the first).
    replicate : which replicate of the run to replay.
    layer : the network layer drawn (default: the one the trait spreads on).
    fps, max_frames, dpi : frames per second, the most frames, resolution.
    layout_seed : seed of the spring layout.
    meanfield : ``rumorsim.meanfield.solve_meanfield``'s table, drawn dashed.
    overwrite : replace an existing file.

    Raises
    ------
    OutputError
        Too many agents to draw, an unknown suffix, ffmpeg or Pillow missing, the file
        exists, or a run loaded from disk (it has no network to draw).
    """
    path = Path(path)
    writer = check_output(path, overwrite=overwrite, fps=fps)
    with matplotlib.rc_context({**_RC, **ffmpeg_rc()}):
        fig, draw, n_frames = _scene(results, trait=trait, replicate=replicate, layer=layer,
                                     max_frames=max_frames, layout_seed=layout_seed, meanfield=meanfield)
        from matplotlib.animation import FuncAnimation

        anim = FuncAnimation(fig, draw, frames=n_frames, blit=False)
        with replacing(path, suffix=path.suffix) as tmp:  # the writer reads the suffix
            anim.save(str(tmp), writer=writer, dpi=dpi)
    return path


def save_frame(results: "Results", path: Union[str, os.PathLike], frame: int = -1, *,
               dpi: int = 80, **kw: Any) -> Path:
    """One frame of :func:`write_animation` as a PNG (to look at before a whole animation);
    ``frame`` counts shown frames (-1: the last). Takes the same keywords."""
    with matplotlib.rc_context(_RC):
        fig, draw, n_frames = _scene(results, **kw)
        draw(frame % n_frames)
        fig.savefig(path, dpi=dpi)
    return Path(path)


def _scene(results: "Results", *, trait: Optional[str] = None, replicate: int = 0,
           layer: Optional[str] = None, max_frames: int = 90, layout_seed: int = 0,
           meanfield: Optional["pd.DataFrame"] = None) -> Tuple[Any, Any, int]:
    """The figure, its frame-drawing function and the number of frames."""
    sc = results.scenario
    if getattr(results, "model", None) is None or getattr(results, "network", None) is None:
        raise OutputError("animations need a run made in this session (a run directory read "
                          "from disk keeps no network)", suggestion="Use rumorsim animate SCENARIO")
    names = [t for t, _ in results.info.traits]
    trait = names[0] if trait is None else trait
    if trait not in names:
        from .errors import ScenarioError, did_you_mean

        raise ScenarioError(f"there is no trait `{trait}`", field="trait",
                            expected=f"one of {', '.join(names)}", suggestion=did_you_mean(trait, names))
    k = names.index(trait)
    states = list(results.info.traits[k][1])
    n = sc.population.agents
    if n > MAX_SNAPSHOT_AGENTS:
        raise OutputError(f"animations draw at most {MAX_SNAPSHOT_AGENTS:,} agents; this scenario has {n:,}",
                          suggestion="Use a smaller population, e.g. --set population.agents=300")
    ly = _layer_for(results, trait, layer)
    seed = seed_from_record(results.provenance.get("seed", sc.run.seed))
    joint = record_agent_states(results.model, seed, replicate)
    decoded = np.asarray(results.info.joint_states)[joint.astype(np.int64), k]   # (T, n)
    frames = choose_frames(decoded, max_frames)
    times = np.asarray(results.times, float)
    counts = np.stack([(decoded == j).sum(axis=1) for j in range(len(states))], axis=1)  # (T, S)
    pos = _sunflower(n) if ly.complete else _pull_in(network_layout(ly, seed=layout_seed))

    colors = _distinct_colors(states)
    rgba = np.array([matplotlib.colors.to_rgba(c) for c in colors])
    tax = _time_axis(sc)
    x = tax.x(times)
    fig = _new_figure(11.0, 5.0)
    gs = fig.add_gridspec(1, 2, width_ratios=[1.0, 1.25])
    ax_net = fig.add_subplot(gs[0])
    ax = fig.add_subplot(gs[1])
    dots = _draw_network(ax_net, ly, pos)
    dots.set_sizes([float(np.clip(6000.0 / max(n, 1), 6.0, 80.0))])  # slides: larger dots
    end = frames[-1]
    growing = []
    for j, s in enumerate(states):
        ax.plot(x[: end + 1], counts[: end + 1, j], color=colors[j], lw=1.0, alpha=0.25)
        (line,) = ax.plot([], [], color=colors[j], lw=2.4, label=s)
        growing.append(line)
    if meanfield is not None:
        d = meanfield[(meanfield.trait == trait) & (meanfield.time <= times[end] + 1e-9)]
        for j, s in enumerate(states):
            rows = d[d.state == s]
            ax.plot(tax.x(rows.time.to_numpy()), rows.fraction.to_numpy() * n, color=colors[j],
                    zorder=3, **MEANFIELD_STYLE)
        from matplotlib.lines import Line2D

        growing_handles = growing + [Line2D([], [], color="0.2", label="mean field", **MEANFIELD_STYLE)]
    else:
        growing_handles = growing
    now = ax.axvline(x[0], color="0.3", lw=1.0, ls=":")
    ax.set_xlim(x[0], x[end] if end > 0 else x[-1])
    ax.set_ylim(0, n * 1.03)
    ax.set_ylabel("agents")
    tax.decorate(ax, show_label=True)
    ax.legend(handles=growing_handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), title=trait)
    ax.set_title(f"{trait} over time (one run, seed {describe_seed(seed)})")
    fig.suptitle(sc.name, fontsize=13, fontweight="bold", x=0.01, ha="left")
    caption = f"{n:,} agents; layer `{ly.name}`"
    if ly.complete:
        caption += " (complete: everyone meets everyone, so no edges are drawn)"
    if sc.population.represents:
        caption += f"; 1 agent ≈ {format_number(results.people_per_agent)} people"
    fig.supxlabel(caption, fontsize=8, color="0.35", x=0.01, ha="left")

    def draw(f: int) -> Tuple[Any, ...]:
        i = int(frames[f])
        dots.set_facecolor(rgba[decoded[i]])
        for j, line in enumerate(growing):
            line.set_data(x[: i + 1], counts[: i + 1, j])
        now.set_xdata([x[i], x[i]])
        unit = "" if tax.clock or sc.time.unit == "time unit" else f" {sc.time.unit}"
        ax_net.set_title(f"t = {times[i]:g}{unit}:  " + ",  ".join(
            f"{s} {c:,}" for s, c in zip(states, counts[i])), fontsize=10)
        return (dots, now, *growing)

    draw(0)
    return fig, draw, len(frames)
