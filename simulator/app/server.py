"""The app's HTTP side: one page, its static files, and three JSON routes.

``GET /`` the page; ``GET /static/*`` its script and style; ``GET /api/scenarios`` the
picker; ``POST /api/run`` settings in, a computed run out (``session.simulate``);
``POST /api/meanfield`` settings in, the mean-field curves out (asked for after the run
is drawn, so a slow integration never holds the network back);
``POST /api/export`` settings in, the scenario YAML out. The server keeps no state
between requests: the browser sends the whole settings each time, so a reload, a
second tab or a second student's laptop never sees someone else's run.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Optional

from ..errors import RumorsimError
from . import session

STATIC = Path(__file__).resolve().parent / "static"
_MISSING = (
    "the app needs its optional dependencies (starlette, uvicorn), which are not installed"
)


def _require() -> None:
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise RumorsimError(_MISSING, suggestion='Install them with: pip install "rumorsim[app]"') from None


def create_app(default: Optional[str] = None) -> Any:
    """The Starlette application; ``default`` is the scenario shown first (name or path)."""
    _require()
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    first = default or session.DEFAULT_SCENARIO

    def guarded(fn: Callable[[Request], Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            try:
                return await fn(request)
            except RumorsimError as exc:  # a bad slider value or file: say it on the page
                return JSONResponse({"error": exc.format()}, status_code=400)
        return endpoint

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def scenarios(request: Request) -> Response:
        items = await run_in_threadpool(session.picker_scenarios, default)
        return JSONResponse({"scenarios": list(items), "default": first})

    async def settings_of(request: Request) -> session.Settings:
        try:
            data = await request.json()
        except ValueError:
            raise RumorsimError("the request is not JSON") from None
        settings = session.Settings.from_json(data)
        # only the picker's scenarios: with --host 0.0.0.0 a page must not open other files
        offered = {s["name"] for s in await run_in_threadpool(session.picker_scenarios, default)}
        if settings.scenario not in offered:
            raise RumorsimError(f"`{settings.scenario}` is not one of this app's scenarios",
                                suggestion="Pick one from the list, or start the app with it: rumorsim app FILE")
        return settings

    async def run(request: Request) -> Response:
        settings = await settings_of(request)
        return JSONResponse(await run_in_threadpool(session.simulate, settings))

    async def meanfield(request: Request) -> Response:
        settings = await settings_of(request)
        return JSONResponse(await run_in_threadpool(session.meanfield, settings))

    async def export(request: Request) -> Response:
        settings = await settings_of(request)
        name, text = await run_in_threadpool(session.export_yaml, settings)
        return Response(text, media_type="application/x-yaml",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    return Starlette(routes=[
        Route("/", index),
        Route("/api/scenarios", guarded(scenarios)),
        Route("/api/run", guarded(run), methods=["POST"]),
        Route("/api/meanfield", guarded(meanfield), methods=["POST"]),
        Route("/api/export", guarded(export), methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ])


def _check_port(host: str, port: int) -> None:
    """Refuse a port that is taken with a message, before uvicorn logs a traceback-like error."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        try:
            s.bind((host, port))
        except OSError as exc:
            raise RumorsimError(f"cannot listen on {host}:{port} ({exc.strerror})",
                                suggestion=f"Another program uses it: try --port {port + 1}") from None


def serve(scenario: Optional[str] = None, *, host: str = "127.0.0.1", port: int = 8765,
          open_browser: bool = False) -> None:
    """Check the scenario, then serve the app until interrupted.

    Raises
    ------
    RumorsimError
        The extra is not installed, or the scenario is missing or invalid (before the
        server starts, so the command line reports it and exits 2).
    """
    _require()
    import uvicorn

    name = scenario or session.DEFAULT_SCENARIO
    session.resolve(session.Settings(name))  # a bad file fails here, not in the browser
    session.picker_scenarios(scenario)  # loaded once, before the first page asks
    _check_port(host, port)
    app = create_app(scenario)
    url = f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}/"
    print(f"rumorsim app: open {url} (Ctrl+C to stop)", file=sys.stderr, flush=True)
    if open_browser:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(app, host=host, port=port, log_level="warning")
