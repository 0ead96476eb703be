"""Animations: frames chosen from the run, GIF and MP4 written, user errors before any work."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import rumorsim as rs
from rumorsim.animate import choose_frames, save_frame, write_animation
from rumorsim.cli import cli
from rumorsim.errors import OutputError

from conftest import SCENARIOS

SIR = SCENARIOS / "classic" / "sir.yaml"
SMALL = ["population.agents=120", "network.layers.contacts.mean_degree=4",
         "transitions.infection.rate=0.6", "time.until=20"]


def invoke(*args):
    res = CliRunner().invoke(cli, [str(a) for a in args])
    return res.exit_code, " ".join(res.output.split())


@pytest.fixture(scope="module")
def small_run():
    return rs.run(rs.load(SIR, SMALL), replicates=1, seed=4, workers=1)


def test_choose_frames_cuts_the_still_tail_and_thins_evenly():
    states = np.zeros((50, 3), int)
    states[10:, 0] = 1
    states[20:, 1] = 1          # last change at report 20
    frames = choose_frames(states, 100)
    assert frames[0] == 0 and frames[-1] == 20 + 4 and len(frames) == 25  # 4 held frames
    thin = choose_frames(states, 6)
    assert len(thin) == 6 and thin[0] == 0 and thin[-1] == 24 and (np.diff(thin) > 0).all()
    assert list(choose_frames(np.zeros((5, 2), int), 10)) == [0, 1, 2, 3, 4]  # nothing happens


@pytest.mark.slow
def test_gif_has_one_frame_per_chosen_report_and_colours_follow_states(small_run, tmp_path):
    path = write_animation(small_run, tmp_path / "sir.gif", max_frames=12, fps=4)
    with Image.open(path) as im:
        assert im.n_frames == 12
        im.seek(0)
        first = np.asarray(im.convert("RGB")).copy()
        im.seek(11)
        last = np.asarray(im.convert("RGB")).copy()
    assert first.shape == last.shape and (first != last).any()
    # the recovered colour is absent at the start and present at the end (left half: the network)
    green = np.array(matplotlib.colors.to_rgb("#2ca02c")) * 255

    def has(img, rgb):
        half = img[:, : img.shape[1] // 2].astype(float)
        return (np.abs(half - rgb).sum(axis=2) < 40).sum()

    assert has(first, green) < 5 < has(last, green)
    with pytest.raises(OutputError, match="nothing was overwritten"):
        write_animation(small_run, path)


@pytest.mark.slow
def test_mp4_is_written_with_ffmpeg(small_run, tmp_path):
    path = write_animation(small_run, tmp_path / "sir.mp4", max_frames=8)
    head = path.read_bytes()[:12]
    assert head[4:8] == b"ftyp"  # an MP4 container


def test_mp4_without_ffmpeg_is_a_clear_error(small_run, tmp_path, monkeypatch):
    from matplotlib import animation

    import rumorsim.animate as A

    monkeypatch.setattr(A, "ffmpeg_rc", lambda: {})
    monkeypatch.setattr(animation.writers, "is_available", lambda name: name != "ffmpeg")
    with pytest.raises(OutputError, match="needs ffmpeg"):
        write_animation(small_run, tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()


def test_save_frame_png(small_run, tmp_path):
    p = save_frame(small_run, tmp_path / "f.png", 5, max_frames=12)
    with Image.open(p) as im:
        assert im.size[0] > 2 * im.size[1] > 600


@pytest.mark.slow
def test_cli_animate_and_its_user_errors(tmp_path):
    sets = [x for s in SMALL for x in ("--set", s)]
    code, out = invoke("animate", SIR, "-o", tmp_path / "a.gif", *sets, "--seed", 2, "--frames", 6,
                       "--meanfield")
    assert code == 0, out
    assert (tmp_path / "a.gif").stat().st_size < 3_000_000
    code, out = invoke("animate", SIR, "-o", tmp_path / "a.gif", *sets)
    assert code == 2 and "nothing was overwritten" in out
    code, out = invoke("animate", SIR, "-o", tmp_path / "a.avi", *sets)
    assert code == 2 and ".gif or .mp4" in out
    code, out = invoke("animate", SIR, "-o", tmp_path / "b.gif")  # 10,000 agents
    assert code == 2 and "population.agents=300" in out
    code, out = invoke("animate", SIR, "-o", tmp_path / "b.gif", *sets, "--trait", "helth")
    assert code == 2 and "Did you mean `health`?" in out
    assert not (tmp_path / "b.gif").exists()
