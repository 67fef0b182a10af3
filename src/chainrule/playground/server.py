"""The playground's web app (Starlette): the page, a JSON API per session and a WebSocket that
streams frames. ``app = create_app("127.0.0.1", 8000)``; ``chainrule playground`` serves it.

Safety: requests whose Host is not the bound address are refused (DNS rebinding), as are
WebSocket upgrades and state-changing requests from another Origin; bodies are capped; every
bad parameter is a 4xx with ``{"error": message}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import json
from importlib import resources

from anyio import to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from . import export
from .sessions import Session, SessionStore, TooManySessions
from .validation import MAX_UPLOAD_BYTES, ParamError, parse_config, parse_csv

MAX_JSON_BYTES = 16 * 1024
ACTIONS = ("play", "pause", "step", "reset", "regenerate")


class HTTPError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def allowed_hosts(host: str, port: int) -> set[str]:
    """The Host headers the server answers: its own address (and localhost when on loopback)."""
    names = {host}
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).is_loopback:
            names |= {"localhost", host}
    if host == "localhost":
        names.add("127.0.0.1")
    names = {f"[{n}]" if ":" in n else n for n in names}  # an IPv6 literal is bracketed
    return {f"{n}:{port}" for n in names} | ({*names} if port == 80 else set())


class GuardMiddleware:
    """Refuses a foreign Host (any request), a foreign Origin (WebSocket upgrades and requests
    that change state) and a declared body larger than ``max_body``, before the app sees them."""

    def __init__(self, app, hosts: set[str], max_body: int) -> None:
        self.app = app
        self.hosts = hosts
        self.origins = {f"http://{h}" for h in hosts}
        self.max_body = max_body

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        problem = None
        if headers.get("host", "").lower() not in self.hosts:
            problem = (400, "this server only answers requests addressed to "
                       + " or ".join(sorted(self.hosts)))
        elif scope["type"] == "websocket" and headers.get("origin") not in self.origins:
            problem = (403, "a WebSocket from another origin is refused")
        elif (scope["type"] == "http" and scope["method"] not in ("GET", "HEAD")
              and "origin" in headers and headers["origin"] not in self.origins):
            problem = (403, "a request from another origin is refused")
        elif scope["type"] == "http":
            length = headers.get("content-length", "0")
            if not length.isdigit():
                problem = (400, "a bad Content-Length")
            elif int(length) > self.max_body:
                problem = (413, f"the request is larger than {self.max_body} bytes")
        if problem is None:
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        response = JSONResponse({"error": problem[1]}, status_code=problem[0])
        await response(scope, receive, send)


async def _body(request: Request, limit: int) -> bytes:
    """The request's body, refused with 413 once it passes ``limit`` bytes (however sent)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPError(413, f"the request is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _json(request: Request) -> dict:
    raw = await _body(request, MAX_JSON_BYTES)
    if not raw.strip():
        return {}
    try:
        params = json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise HTTPError(400, "the request body is not valid JSON") from None
    if not isinstance(params, dict):
        raise HTTPError(400, "the request body must be a JSON object of settings")
    return params


async def _until_closed(websocket: WebSocket) -> None:
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass


def create_app(host: str = "127.0.0.1", port: int = 8000, *, store: SessionStore | None = None,
               ) -> Starlette:
    """The app for a server bound to ``host:port`` (the Host headers it accepts)."""
    store = store if store is not None else SessionStore()
    static = resources.files("chainrule.playground") / "static"

    def session_of(request_or_ws) -> Session:
        session = store.get(request_or_ws.path_params["sid"])
        if session is None:
            raise HTTPError(404, "this session has expired or never existed; reload the page")
        return session

    async def index(request: Request) -> Response:
        return FileResponse(str(static / "index.html"), media_type="text/html")

    async def create(request: Request) -> Response:
        config = parse_config(await _json(request))
        try:
            session = await to_thread.run_sync(store.create, config)
        except TooManySessions as e:
            raise HTTPError(503, str(e)) from None
        return JSONResponse(await to_thread.run_sync(session.state), status_code=201)

    async def state(request: Request) -> Response:
        return JSONResponse(await to_thread.run_sync(session_of(request).state))

    async def configure(request: Request) -> Response:
        session = session_of(request)
        config = parse_config(await _json(request), session.config)
        await to_thread.run_sync(session.reconfigure, config)
        return JSONResponse(await to_thread.run_sync(session.state))

    async def action(request: Request) -> Response:
        session = session_of(request)
        name = request.path_params["action"]
        if name not in ACTIONS:
            raise HTTPError(404, f"no action {name!r}; expected one of {', '.join(ACTIONS)}")
        if name == "play":
            await to_thread.run_sync(session.play)
        elif name == "pause":
            await to_thread.run_sync(session.pause)
        elif name == "step":
            await to_thread.run_sync(session.pause)
            await to_thread.run_sync(session.step)
        else:  # reset: new weights; regenerate: new points (a new seed) and new weights
            config = session.config
            if name == "regenerate":
                if config.custom:
                    raise HTTPError(400, "uploaded data cannot be regenerated; pick a data set")
                config = parse_config({"seed": (config.seed + 1) % 2**31}, config)
            await to_thread.run_sync(session.reconfigure, config)
        return JSONResponse(await to_thread.run_sync(session.state))

    async def upload(request: Request) -> Response:
        session = session_of(request)
        raw = await _body(request, MAX_UPLOAD_BYTES)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise HTTPError(400, "the CSV is not UTF-8 text") from None
        data = await to_thread.run_sync(parse_csv, text)
        config = dataclasses.replace(session.config, problem=data.problem, classes=data.classes,
                                     dataset="custom", points=len(data.xy), custom=True)
        await to_thread.run_sync(session.reconfigure, config, data)
        return JSONResponse(await to_thread.run_sync(session.state))

    async def explain_point(request: Request) -> Response:
        session = session_of(request)
        raw = request.query_params.get("index", "")

        def run() -> dict:
            with session.lock:  # the points cannot change between the check and the use
                n = len(session.trainer.xy)
                if not (raw.isascii() and raw.isdigit()) or int(raw) >= n:
                    raise HTTPError(400, f"index must be a point's number from 0 to {n - 1} "
                                    f"(got {raw[:20]!r})")
                return session.trainer.explain_point(int(raw))

        return JSONResponse(await to_thread.run_sync(run))

    async def export_file(request: Request) -> Response:
        session = session_of(request)
        kind = request.path_params["kind"]

        def run(make):
            with session.lock:
                return make(session.trainer)

        if kind == "weights":
            payload = await to_thread.run_sync(run, export.weights)
            return Response(payload, media_type="application/octet-stream", headers={
                "Content-Disposition": 'attachment; filename="playground-weights.safetensors"'})
        if kind == "script":
            text = await to_thread.run_sync(run, export.script)
            return PlainTextResponse(text, media_type="text/x-python", headers={
                "Content-Disposition": f'attachment; filename="{export.SCRIPT_NAME}"'})
        raise HTTPError(404, f"no export {kind!r}; expected weights or script")

    async def stream(websocket: WebSocket) -> None:
        """Sends the session's frame whenever it changes; the page sends nothing."""
        session = store.get(websocket.path_params["sid"])
        if session is None:
            await websocket.close(code=1008)
            return
        await websocket.accept()
        changed = asyncio.Event()
        loop = asyncio.get_running_loop()
        session.listen(loop, changed)
        closed = asyncio.ensure_future(_until_closed(websocket))
        sent = -1
        try:
            seq, frame = await to_thread.run_sync(session.latest)
            while not closed.done():
                if seq != sent:
                    await websocket.send_text(frame)
                    sent = seq
                    session.touch()
                waiter = asyncio.ensure_future(changed.wait())
                await asyncio.wait({waiter, closed}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                changed.clear()
                latest = session.published()
                if latest is None or latest[0] != session.frame_seq:  # not built yet: build
                    latest = await to_thread.run_sync(session.latest)
                seq, frame = latest
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            closed.cancel()
            session.unlisten(loop, changed)
            if not session.watchers:  # nobody is watching: stop spending the CPU
                session.stop()

    async def on_error(request: Request, exc: Exception) -> Response:
        status = exc.status if isinstance(exc, HTTPError) else 400
        return JSONResponse({"error": str(exc)}, status_code=status)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        await to_thread.run_sync(store.close_all)

    routes = [
        Route("/", index),
        Route("/api/sessions", create, methods=["POST"]),
        Route("/api/sessions/{sid}", state),
        Route("/api/sessions/{sid}/config", configure, methods=["POST"]),
        Route("/api/sessions/{sid}/upload", upload, methods=["POST"]),
        Route("/api/sessions/{sid}/explain", explain_point),
        Route("/api/sessions/{sid}/export/{kind}", export_file),
        Route("/api/sessions/{sid}/{action}", action, methods=["POST"]),
        WebSocketRoute("/api/sessions/{sid}/stream", stream),
        Mount("/static", StaticFiles(directory=str(static)), name="static"),
    ]
    guard = Middleware(GuardMiddleware, hosts=allowed_hosts(host, port),
                       max_body=MAX_UPLOAD_BYTES)
    app = Starlette(routes=routes, lifespan=lifespan, middleware=[guard],
                    exception_handlers={HTTPError: on_error, ParamError: on_error})
    app.state.store = store
    return app
