"""The classroom app: ``rumorsim app [SCENARIO]`` opens a live network in the browser.

A lecturer picks a scenario (the classic models, small classroom versions of the
WeChat, Xiaomi and DingTalk cases, or any file), sees the network with each agent
coloured by the state of one trait, plays, pauses, steps and replays the run, moves a
slider for any rate, probability, the number of agents or the mean degree, clicks an
agent to seed it, fires an intervention now, and sees the curves beside the network:
the run on screen, a faint band from 20 replicates of the same settings, and the
mean-field curve dashed. "Export" downloads the settings as a scenario file with the
seed, which ``rumorsim run`` reproduces exactly.

Why a small Starlette server and a canvas, not Solara or Panel. Playback is where a
classroom app is judged: with 2,000 agents a step must recolour 2,000 nodes well
under 100 ms, and a frame must never wait for the server. Solara and Panel draw a
Python-side figure and send it over a websocket at every change; their network
widgets (ipycytoscape, Bokeh graphs) re-serialise the nodes per update. Here the
server computes the whole run once (``session.simulate``: every agent's state at
every report time, one call to the kernel) and the browser plays it back from memory
with one HTML canvas: the edges are drawn once into an off-screen canvas and each
step paints the nodes in one path per state, a few milliseconds for 2,000 agents
(the page shows the time it took). Everything the page needs ships in this package
(``static/``: one HTML, one script, one style sheet, no CDN), so it works on a
lecture-hall machine with no internet. The server is Starlette with uvicorn - small,
well-kept, and only an optional extra (``pip install "rumorsim[app]"``).

Modules: ``session`` (what is computed: plain Python over the public API, tested
without a browser), ``server`` (the HTTP routes and ``serve``), ``static/`` (the page).
"""

from __future__ import annotations

__all__ = ["serve"]


def serve(scenario: "str | None" = None, *, host: str = "127.0.0.1", port: int = 8765,
          open_browser: bool = False) -> None:
    """Start the app (blocking) on ``host:port``; see :func:`rumorsim.app.server.serve`."""
    from .server import serve as _serve

    _serve(scenario, host=host, port=port, open_browser=open_browser)
