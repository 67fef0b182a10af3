"""The playground: train a small network in the browser on chainrule itself, with the backward
pass on screen. ``chainrule playground`` (needs ``pip install 'chainrule[playground]'``), or::

    from chainrule.playground import serve
    serve(port=8000)

Modules: ``validation`` (every parameter and upload checked), ``datasets``, ``training`` (the
network and what the page draws), ``sessions`` (one per tab, trained in its own thread),
``export`` (weights and a runnable script), ``server`` (the Starlette app); ``static/`` is the page.
"""

from __future__ import annotations

import threading
import webbrowser

EXTRA = "install the playground's dependencies: pip install 'chainrule[playground]'"


def make_server(host: str = "127.0.0.1", port: int = 8000):
    """A uvicorn server for the playground on ``host:port`` (``.run()`` serves it)."""
    try:
        import uvicorn

        from .server import create_app
    except ImportError as e:
        raise ImportError(f"chainrule playground: {e.name} is missing; {EXTRA}") from None
    config = uvicorn.Config(create_app(host, port), host=host, port=port, log_level="warning",
                            limit_concurrency=256, timeout_keep_alive=5)
    return uvicorn.Server(config)


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = True) -> None:
    """Serve the playground on ``host:port`` until interrupted; open a browser tab on it."""
    server = make_server(host, port)
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}/"
    print(f"chainrule playground on {url} (Ctrl+C stops it)")
    if open_browser:
        def open_when_started() -> None:
            while not server.started and not server.should_exit:
                threading.Event().wait(0.05)
            if server.started:
                webbrowser.open(url)

        threading.Thread(target=open_when_started, daemon=True).start()
    server.run()
