"""The playground in real time (issue 15): frames per second and optimizer steps per second on one
core, for the default network (2 hidden layers x 4, 500 points, 50x50 heat map) and a large one
(6 layers x 8 neurons, 1,000 points, 100x100 heat map). Targets: >= 30 frames/s and >= 10.

A frame is what a playing session does between two pictures: one epoch of training (batches of
10) and the frame the page draws (losses, heat map, neuron thumbnails, weights, gradients,
GradientFlow's verdict), serialised to JSON.

``python benchmarks/playground.py`` measures two ways, interleaved over ``--rounds`` rounds
(medians with the min-max spread):

- *capacity*: the session's training step and frame in this process, pinned to one core, with
  no frame cap (also per second of the thread's CPU time, which a busy machine disturbs less);
- *delivered*: a real server (``chainrule playground`` in a subprocess pinned to one core) and a
  WebSocket client counting the frames it receives while the session plays; the server caps a
  session at 60 frames/s, so the default network's figure is at most 60 here.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

import _harness as H

SETUPS = {
    "default: 2x4, 500 points, 50x50 map": {"hidden": [4, 4], "points": 500, "resolution": 50},
    "large: 6x8, 1,000 points, 100x100 map": {"hidden": [8] * 6, "points": 1000,
                                              "resolution": 100},
}
CORE = 0


def capacity(params: dict, seconds: float) -> dict:
    """Frames (epoch + frame JSON) per second of one session, in this process."""
    from chainrule.playground.sessions import Session
    from chainrule.playground.validation import parse_config

    session = Session("bench", parse_config(params))
    for _ in range(3):  # warm-up
        session.step()
        session.latest()
    frames, steps_before = 0, session.trainer.steps
    started, cpu_started = time.perf_counter(), time.thread_time()
    while time.perf_counter() - started < seconds:
        session.step()
        session.latest()
        frames += 1
    elapsed = time.perf_counter() - started
    cpu = time.thread_time() - cpu_started
    steps = session.trainer.steps - steps_before
    return {"fps": frames / elapsed, "steps_per_s": steps / elapsed, "fps_cpu": frames / cpu}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def delivered(params: dict, seconds: float) -> dict:
    """Frames per second a WebSocket client receives from a real server while playing."""
    from websockets.sync.client import connect

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-c", "import sys; from chainrule.cli import main; sys.exit(main())",
         "playground", "--no-browser", "--port", str(port)], env=H.worker_env(1),
        stdout=subprocess.DEVNULL,
        preexec_fn=lambda: os.sched_setaffinity(0, {CORE}))
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(base + "/", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the playground server did not start") from None
                time.sleep(0.1)

        def post(path, body=b"{}"):
            request = urllib.request.Request(base + path, data=body, method="POST")
            return json.load(urllib.request.urlopen(request, timeout=30))

        sid = post("/api/sessions", json.dumps(params).encode())["id"]
        with connect(f"ws://127.0.0.1:{port}/api/sessions/{sid}/stream",
                     origin=base, max_size=2**24) as ws:
            json.loads(ws.recv())
            post(f"/api/sessions/{sid}/play")
            first = json.loads(ws.recv())
            started, frames = time.perf_counter(), 0
            while time.perf_counter() - started < seconds:
                last = json.loads(ws.recv())
                frames += 1
            elapsed = time.perf_counter() - started
        epochs = last["epoch"] - first["epoch"]
        return {"fps": frames / elapsed, "steps_per_s": epochs * last["steps"] /
                max(last["epoch"], 1) / elapsed}
    finally:
        server.terminate()
        server.wait(10)


def _fmt(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    p.add_argument("--no-server", action="store_true", help="capacity only")
    args = p.parse_args(argv)
    os.sched_setaffinity(0, {CORE})
    H.pin_threads(1)
    results = {name: {"capacity": [], "delivered": []} for name in SETUPS}
    for r in range(args.rounds):
        for name, params in SETUPS.items():
            results[name]["capacity"].append(capacity(params, args.seconds))
            if not args.no_server:
                results[name]["delivered"].append(delivered(params, args.seconds))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    print(f"playground, one core ({H.cpu_name()}), medians of {args.rounds} rounds (min-max)\n")
    print("| setup | frames/s (capacity) | steps/s (capacity) | frames per CPU second "
          "(capacity) | frames/s (delivered over WebSocket, cap 60) | steps/s (delivered) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, runs in results.items():
        cap, dlv = runs["capacity"], runs["delivered"]
        row = [name, _fmt([c["fps"] for c in cap]), _fmt([c["steps_per_s"] for c in cap]),
               _fmt([c["fps_cpu"] for c in cap])]
        row += ([_fmt([d["fps"] for d in dlv]), _fmt([d["steps_per_s"] for d in dlv])]
                if dlv else ["-", "-"])
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
