"""How long the classroom app takes to draw one step, measured in headless Chromium.

Starts ``rumorsim app SCENARIO`` on a free port, opens it in Debian's chromium (Selenium,
system chromedriver), plays the whole run at 30 steps per second and prints the page's
own timings of each step (network, curves and counts redrawn; ``window.rumorsim.stats``).

    python benchmarks/app_render.py classic/sir            # 2,000 agents (the app's cap for it)
    python benchmarks/app_render.py classroom/wechat --trait rumor
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default="classic/sir")
    ap.add_argument("--trait", default=None)
    args = ap.parse_args()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "rumorsim.cli", "app", args.scenario, "--port", str(port)],
                              env={**os.environ, "MPLBACKEND": "Agg"})
    try:
        url = f"http://127.0.0.1:{port}/"
        for _ in range(600):
            try:
                urllib.request.urlopen(url + "api/scenarios", timeout=60).read()
                break
            except OSError:
                time.sleep(0.5)
        opts = webdriver.ChromeOptions()
        opts.binary_location = shutil.which("chromium")
        for a in ("--headless=new", "--no-sandbox", "--window-size=1680,1300"):
            opts.add_argument(a)
        d = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
        try:
            d.get(url)

            def wait(js: str) -> None:
                for _ in range(3000):
                    if d.execute_script(js):
                        return
                    time.sleep(0.1)
                raise SystemExit(f"timed out: {js}")

            wait("return document.body.dataset.status === 'ready' && window.rumorsim.data !== null")
            if args.trait:
                d.execute_script("const s = document.getElementById('trait');"
                                 "s.value = window.rumorsim.data.traits.findIndex(t => t.name === arguments[0]);"
                                 "s.dispatchEvent(new Event('change'))", args.trait)
            d.execute_script("window.rumorsim.stats.samples = [];"
                             "const e = document.getElementById('speed'); e.value = 30; e.dispatchEvent(new Event('input'));")
            d.find_element("id", "play").click()
            wait("return window.rumorsim.frame >= window.rumorsim.nFrames - 1")
            ms = np.asarray(d.execute_script("return window.rumorsim.stats.samples"), float)
            agents = d.execute_script("return window.rumorsim.nAgents")
            edges = d.execute_script("return window.rumorsim.data.edges.length / 2")
            print(f"{args.scenario}: {agents:,} agents, {edges:,} edges drawn; one step renders in "
                  f"median {np.median(ms):.2f} ms, 95th percentile {np.percentile(ms, 95):.2f} ms, "
                  f"max {ms.max():.2f} ms over {len(ms)} steps (headless Chromium "
                  f"{d.capabilities.get('browserVersion', '?')})")
        finally:
            d.quit()
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
