"""The classroom app in a real browser: headless Chromium driven by Selenium.

The app runs as users start it (``rumorsim app classic/sir --port P`` in a subprocess)
and the page is driven through its buttons, sliders and canvas. What each test proves
is in its name; the statistical claim (a slider changes the outcome) uses the SIR
percolation threshold, so it cannot pass by chance:

- with the file's rates (beta = 0.25 per neighbour, gamma = 1, <k> = 10) the per-edge
  transmissibility is T ~ 0.2 and <k> T ~ 2: a major outbreak reaching ~80 % of the
  2,000 agents (r = 1 - exp(-<k> T r));
- with the infection rate at the slider's minimum (beta / 10) <k> T ~ 0.24 < 1: every
  chain dies out and the 10 seeds infect about 10 / (1 - 0.24) ~ 13 agents in total
  (a subcritical branching process), far below the 20 % bound the test uses.

Chromium and chromedriver are Debian packages that ``.ci/run`` installs; Selenium is in
the ``test`` extra. Nothing here skips when they are missing: the tests fail instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from rumorsim.cli import cli

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = os.environ.get("RUMORSIM_APP_SCREENSHOTS")  # a folder to keep screenshots in


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """`rumorsim app classic/sir` on a free port, stopped after the module's tests."""
    port = _free_port()
    log = tmp_path_factory.mktemp("app") / "server.log"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "rumorsim.cli", "app", "classic/sir", "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while True:
        try:
            urllib.request.urlopen(url + "api/scenarios", timeout=60).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"the app did not start:\n{log.read_text()}")
            time.sleep(0.5)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads: Path):
    """Headless Debian Chromium through the system chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    assert chromium and driver_path, "install Debian's chromium and chromium-driver (see .ci/run)"
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1700,1250"):
        opts.add_argument(arg)
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    driver.set_script_timeout(60)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    yield driver
    driver.quit()


# ----------------------------------------------------------------- helpers


def _wait(driver, condition, timeout: float = 120.0, what: str = "the page"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(condition)
        if value:
            return value
        time.sleep(0.1)
    status = driver.execute_script("return document.getElementById('status').textContent")
    raise AssertionError(f"timed out waiting for {what} (status: {status!r})")


def _ready(driver, requests: int) -> None:
    """Wait until the page has answered more than ``requests`` runs and is idle."""
    _wait(driver, f"return document.body.dataset.status === 'ready' && window.rumorsim.requests > {requests}"
                  " && window.rumorsim.data !== null", what="a computed run")


def _open(driver, url: str) -> None:
    driver.get(url)
    _ready(driver, 0)


def _requests(driver) -> int:
    return driver.execute_script("return window.rumorsim.requests")


def _click(driver, element_id: str) -> None:
    driver.find_element("id", element_id).click()


def _curve(driver, state: str, key: str = "run") -> list:
    return driver.execute_script(f"return window.rumorsim.data.curves.health['{state}']['{key}']")


def _canvas_pixels(driver) -> str:
    return driver.execute_script("return document.getElementById('network').toDataURL()")


def _shot(driver, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(SCREENSHOTS) / name))


# ------------------------------------------------------------------- tests


def test_page_loads_with_the_network_the_seed_and_the_curves(server, browser):
    _open(browser, server)
    assert browser.find_element("id", "title").text == "SIR on an Erdős–Rényi graph"
    assert browser.find_element("id", "seed").get_attribute("value") == "0"  # the file's run.seed
    data = browser.execute_script("const d = window.rumorsim.data; return [d.scenario.agents, d.times.length,"
                                  " d.edges.length / 2, window.rumorsim.counts.length]")
    assert data[0] == 2000 and data[1] == 201 and data[2] > 8000 and data[3] == 3
    # the canvas shows nodes: many non-white pixels, in the susceptible grey and the infected red
    colours = browser.execute_script("""
        const c = document.getElementById('network'), g = c.getContext('2d');
        const px = g.getImageData(0, 0, c.width, c.height).data; let grey = 0, red = 0;
        for (let i = 0; i < px.length; i += 4) {
          if (px[i] < 160 && Math.abs(px[i] - px[i + 1]) < 8 && Math.abs(px[i] - px[i + 2]) < 8) grey++;
          if (px[i] > 180 && px[i + 1] < 80 && px[i + 2] < 80) red++;
        }
        return [grey, red];""")
    assert colours[0] > 10000 and colours[1] > 50
    counts = browser.find_element("id", "legend").text
    assert "S 1,990" in counts and "I 10" in counts and "R 0" in counts
    sliders = browser.execute_script("return [...document.querySelectorAll('#sliders input')].map(e => e.dataset.path)")
    assert sliders == ["population.agents", "network.layers.contacts.mean_degree",
                       "transitions.infection.rate", "transitions.recovery.rate"]
    # the mean field arrives after the run: dashed, degree-based; SIR's final size on this
    # ER graph is ~80 % (module docstring), and the equations land within 10 % of the run
    _wait(browser, "return window.rumorsim.meanfieldReady === true", what="the mean-field curve")
    mf_r = browser.execute_script("return window.rumorsim.data.curves.health.R.meanfield")
    assert mf_r is not None and len(mf_r) == 201
    assert mf_r[-1] == pytest.approx(_curve(browser, "R")[-1], rel=0.1)
    assert "mean field (degree-based)" in browser.find_element("id", "curve-note").text
    _shot(browser, "app_loaded.png")


def test_play_advances_the_clock_and_changes_node_colours(server, browser):
    _open(browser, server)
    clock0, pixels0 = browser.find_element("id", "clock").text, _canvas_pixels(browser)
    browser.execute_script("document.getElementById('speed').value = 30;"
                           "document.getElementById('speed').dispatchEvent(new Event('input'))")
    _click(browser, "play")
    _wait(browser, "return window.rumorsim.frame >= 16", timeout=60, what="16 frames of play")
    _click(browser, "play")  # pause
    frame = browser.execute_script("return window.rumorsim.frame")
    time.sleep(0.5)
    assert browser.execute_script("return window.rumorsim.frame") == frame, "pause did not stop the clock"
    assert browser.find_element("id", "clock").text != clock0
    assert _canvas_pixels(browser) != pixels0
    s, i, r = browser.execute_script("return Array.from(window.rumorsim.counts)")
    assert s + i + r == 2000 and r > 0 and s < 1990  # by day 8 the outbreak is under way
    _click(browser, "step")
    assert browser.execute_script("return window.rumorsim.frame") == frame + 1
    # the time a step takes to draw (network + curves + counts), measured in the page
    ms = np.asarray(browser.execute_script("return window.rumorsim.stats.samples"), float)
    print(f"\nrender of one step, 2,000 agents: median {np.median(ms):.2f} ms, 95th percentile "
          f"{np.percentile(ms, 95):.2f} ms, max {ms.max():.2f} ms over {len(ms)} steps")
    _shot(browser, "app_playing.png")


def test_same_seed_reproduces_the_curve_and_a_new_seed_does_not(server, browser):
    _open(browser, server)
    first_i, first_r = _curve(browser, "I"), _curve(browser, "R")
    n = _requests(browser)
    _click(browser, "newseed")
    _ready(browser, n)
    new_seed = browser.find_element("id", "seed").get_attribute("value")
    assert new_seed != "0"
    assert _curve(browser, "I") != first_i
    # type the first seed back: the same network, the same run
    n = _requests(browser)
    box = browser.find_element("id", "seed")
    box.clear()
    box.send_keys("0\n")
    browser.execute_script("document.getElementById('seed').dispatchEvent(new Event('change'))")
    _ready(browser, n)
    assert _curve(browser, "I") == first_i and _curve(browser, "R") == first_r
    n = _requests(browser)
    _click(browser, "reset")
    _ready(browser, n)
    assert _curve(browser, "I") == first_i and browser.execute_script("return window.rumorsim.frame") == 0


def _set_slider(driver, path: str, position: int) -> None:
    """Move a slider as a user would (input, then change on release)."""
    driver.execute_script(
        "const e = document.querySelector(`#sliders input[data-path='${arguments[0]}']`);"
        "e.value = arguments[1]; e.dispatchEvent(new Event('input')); e.dispatchEvent(new Event('change'));",
        path, position)


def test_a_slider_changes_the_outcome_across_the_epidemic_threshold(server, browser):
    _open(browser, server)
    final_r = _curve(browser, "R")[-1]
    assert final_r > 0.6 * 2000  # supercritical: <k> T ~ 2 (module docstring)
    n = _requests(browser)
    _set_slider(browser, "transitions.infection.rate", 0)  # the slider's minimum: beta / 10
    _ready(browser, n)
    assert browser.execute_script("return window.rumorsim.settings.params['transitions.infection.rate']") \
        == pytest.approx(0.025)
    low_r = _curve(browser, "R")[-1]
    band_high = _curve(browser, "R", "high")[-1]
    assert low_r < 0.2 * 2000 and band_high < 0.2 * 2000  # subcritical: <k> T ~ 0.24


def test_clicking_an_agent_seeds_it_now(server, browser):
    from selenium.webdriver.common.action_chains import ActionChains

    _open(browser, server)
    for _ in range(6):
        _click(browser, "step")
    frame = browser.execute_script("return window.rumorsim.frame")
    # a susceptible agent, and where it is on screen
    agent, x, y = browser.execute_script("""
        const S = window.rumorsim, n = S.nAgents, base = S.frame * n;
        for (let i = 0; i < n; i++) if (S.frames[base + i] === 0) {
          const c = document.getElementById('network'), r = c.getBoundingClientRect();
          let clash = false;  // no other agent nearer than 3 px, so the click is unambiguous
          for (let j = 0; j < n; j++) if (j !== i && (S.px[j] - S.px[i]) ** 2 + (S.py[j] - S.py[i]) ** 2 < 9) clash = true;
          if (!clash) return [i, S.px[i] * r.width / c.width - r.width / 2, S.py[i] * r.height / c.height - r.height / 2];
        }
        return null;""")
    n = _requests(browser)
    canvas = browser.find_element("id", "network")
    ActionChains(browser).move_to_element_with_offset(canvas, int(round(x)), int(round(y))).click().perform()
    _ready(browser, n)
    clicks = browser.execute_script("return window.rumorsim.settings.clicks")
    assert len(clicks) == 1 and clicks[0]["state"] == "I"
    assert abs(clicks[0]["agent"] - agent) == 0 or browser.execute_script(
        "const S = window.rumorsim, a = arguments[0], b = arguments[1];"
        "return (S.px[a] - S.px[b]) ** 2 + (S.py[a] - S.py[b]) ** 2 < 100", clicks[0]["agent"], agent)
    clicked = clicks[0]["agent"]
    assert browser.execute_script("return window.rumorsim.frame") == frame  # the clock stays where it was
    later = browser.execute_script(
        "const S = window.rumorsim; return S.frames[(S.frame + 1) * S.nAgents + arguments[0]]", clicked)
    assert later in (1, 2)  # infected at the next report (or already recovered)
    note = browser.find_element("id", "status").text
    print("\nafter a click:", note)
    assert "Re-run with the same seed" in note


def test_export_gives_a_file_that_rumorsim_run_reproduces(server, browser, downloads, tmp_path):
    _open(browser, server)
    n = _requests(browser)
    _set_slider(browser, "transitions.recovery.rate", 700)
    _ready(browser, n)
    run_i = _curve(browser, "I")
    seed = browser.find_element("id", "seed").get_attribute("value")
    _click(browser, "export")
    deadline = time.monotonic() + 30
    files = []
    while time.monotonic() < deadline and not files:
        files = [p for p in downloads.glob("*.yaml")]
        time.sleep(0.2)
    assert files, "no file was downloaded"
    exported = files[0]
    assert exported.name == f"sir-seed{seed}.yaml"
    out = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "rumorsim.cli", "run", str(exported), "-o", str(out), "-q",
                             "--no-figures", "--workers", "2"], capture_output=True, text=True, cwd=tmp_path,
                            env={**os.environ, "MPLBACKEND": "Agg"})
    assert result.returncode == 0, result.stderr
    ts = pd.read_csv(out / "timeseries.csv")
    rep0 = ts[(ts.replicate == 0) & (ts.state == "I")]["count"].to_numpy()
    assert np.array_equal(rep0, np.asarray(run_i))  # the run on screen, exactly
    assert ts.replicate.nunique() == 20


def test_app_command_reports_a_missing_scenario_in_one_paragraph():
    result = CliRunner().invoke(cli, ["app", "no_such_scenario"])
    assert result.exit_code == 2
    assert "no such scenario" in result.output and "Traceback" not in result.output


# ------------------------------------------------- what the app computes (no browser)


def _history(settings):
    import rumorsim as rs
    from rumorsim.app import session

    res = rs.run(session.resolve(settings), replicates=1, seed=settings.seed, workers=1)
    return rs.agent_history(res, 0), res.times


def test_a_click_or_a_fired_intervention_replays_the_past_exactly():
    """The app re-runs from t = 0 with the same seed after a click or a button; the kernel's
    draws before that time do not depend on it (checked here on the WeChat classroom case,
    whose rules read signals, so the schedule matters to the kernel): the screen's past stays."""
    from rumorsim.app.session import Click, Settings

    name, now = "classroom/wechat", 2.0
    base, times = _history(Settings(name, seed=2016))
    k = int(np.searchsorted(times, now))
    for changed in (Settings(name, seed=2016, clicks=(Click(7, "rumor", "believer", now),)),
                    Settings(name, seed=2016, fired=(("media_debunk", now),)),
                    Settings(name, seed=2016, fired=(("servers_scaled_up", now),))):
        hist, _ = _history(changed)
        assert np.array_equal(hist[:k], base[:k]), changed
        assert not np.array_equal(hist, base), changed  # and it did change the run after `now`


def test_an_intervention_fired_before_its_time_moves_and_after_it_repeats():
    from rumorsim.app.session import Settings, resolve

    early = resolve(Settings("classroom/wechat", fired=(("media_debunk", 1.5),)))
    assert early.interventions["media_debunk"].at == 1.5 and len(early.interventions) == 6  # moved, no copy
    late = resolve(Settings("classroom/wechat", fired=(("transfer_page_notice", 6.0),)))
    assert late.interventions["transfer_page_notice"].at == 4.0  # it happened as planned
    copy = late.interventions["transfer_page_notice_fired_1"]
    assert copy.at == 6.0 and copy.kind == "scale" and copy.factor == 0.3


def test_every_rate_and_probability_has_a_slider():
    import rumorsim as rs
    from rumorsim.app.session import parameters

    sc = rs.load("classroom/wechat")
    paths = {p.path for p in parameters(sc, sc)}
    assert {f"transitions.{t.name}.rate" for t in sc.transitions} <= paths
    assert {"population.agents", "network.layers.friends.m", "interventions.founder_on_stage.reach",
            "interventions.founder_on_stage.effects.2.p"} <= paths


def test_the_picker_offers_the_classroom_cases_first_and_each_loads():
    from rumorsim.app.session import MAX_AGENTS, picker_scenarios, resolve, Settings

    names = [s["name"] for s in picker_scenarios()]
    assert names[:3] == ["classroom/dingtalk", "classroom/wechat",
                         "classroom/xiaomi"]
    assert "classic/sir" in names and "classic/maki_thompson" in names
    for n in names:
        assert resolve(Settings(n)).population.agents <= MAX_AGENTS


def test_app_without_its_extra_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if `rumorsim[app]` were not installed
    result = CliRunner().invoke(cli, ["app"])
    assert result.exit_code == 2
    assert 'pip install "rumorsim[app]"' in result.output and "Traceback" not in result.output


def test_the_server_runs_only_the_scenarios_it_offers(server):
    import json

    req = urllib.request.Request(server + "api/run", data=json.dumps({"scenario": "/etc/hostname"}).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=60)
    assert err.value.code == 400 and "not one of this app's scenarios" in json.loads(err.value.read())["error"]


def test_classroom_versions_do_not_shadow_the_full_cases_by_short_name():
    import rumorsim as rs

    for short in ("wechat_leak_2016", "xiaomi_word_of_mouth", "dingtalk_review_storm"):
        assert rs.find_scenario(short).parent.name == "scenarios"
    assert rs.load("classroom/wechat").population.agents == 1500


def test_export_with_clicks_and_fired_interventions_reproduces_the_screen(tmp_path):
    """The exported file carries the clicked seeds and the fired copies as plain interventions."""
    import rumorsim as rs
    from rumorsim.app.session import Click, Settings, export_yaml, simulate

    settings = Settings("classroom/wechat", seed=5, params=(("transitions.hear_rumor.rate", 0.5),),
                        clicks=(Click(11, "rumor", "believer", 2.0),),
                        fired=(("media_debunk", 2.5), ("media_debunk", 6.0)))
    shown = simulate(settings)["curves"]["rumor"]["believer"]
    name, text = export_yaml(settings)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    sc = rs.load(path)
    assert sc.run.seed == 5 and sc.interventions["media_debunk"].at == 2.5
    assert "clicked_1" in sc.interventions and "media_debunk_fired_2" in sc.interventions
    res = rs.run(sc, workers=2)
    assert res.count_array({"rumor": "believer"})[0].tolist() == shown["run"]
