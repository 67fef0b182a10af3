"""Fixtures: the playground app under Starlette's TestClient, and a real uvicorn server on
127.0.0.1 and a free port (for the load test and the browser tests)."""

import socket
import threading
import time

import pytest

pytest.importorskip("starlette", reason="starlette (the playground extra) is missing")
pytest.importorskip("uvicorn", reason="uvicorn (the playground extra) is missing")

from starlette.testclient import TestClient  # noqa: E402

from chainrule.playground import make_server  # noqa: E402
from chainrule.playground.server import create_app  # noqa: E402
from chainrule.playground.sessions import SessionStore  # noqa: E402

HOST, PORT = "127.0.0.1", 8000
BASE = f"http://{HOST}:{PORT}"
ORIGIN = BASE
WS = f"ws://{HOST}:{PORT}"


@pytest.fixture
def store():
    s = SessionStore(max_sessions=4)
    yield s
    s.close_all()


@pytest.fixture
def client(store):
    with TestClient(create_app(HOST, PORT, store=store), base_url=BASE) as c:
        yield c


@pytest.fixture
def session_id(client):
    response = client.post("/api/sessions", json={})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live_server():
    """The app on a real uvicorn server in a thread; yields its base URL."""
    port = _free_port()
    server = make_server(HOST, port)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the playground server did not start in 10 s"
        time.sleep(0.02)
    yield f"http://{HOST}:{port}"
    server.should_exit = True
    thread.join(10)
