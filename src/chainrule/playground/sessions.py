"""One session per browser tab: its own network, trained in its own thread while playing.

``store = SessionStore(); s = store.create(config); s.play(); s.latest()``: the training thread
publishes one frame (serialised JSON) per epoch while a page streams it; the store bounds the
number of sessions and drops the ones idle past their expiry.
"""

from __future__ import annotations

import json
import secrets
import threading
import time

from .training import Trainer
from .validation import Config, UploadedData

MAX_FPS = 60.0  # frames a playing session publishes per second, at most
MAX_STEPS_PER_SECOND = 20_000  # optimizer steps per session per second, at most
MAX_SESSIONS = 16
SESSION_TTL = 30 * 60.0  # seconds without a request or a watching page


class TooManySessions(RuntimeError):
    """Every session slot is taken by a page that is still watching its training."""


class Session:
    """A trainer, its lock, its training thread and its latest frame."""

    def __init__(self, session_id: str, config: Config, *, max_fps: float = MAX_FPS,
                 max_steps_per_second: float = MAX_STEPS_PER_SECOND,
                 ttl: float = SESSION_TTL) -> None:
        self.id = session_id
        self.ttl = ttl
        self.max_fps = max_fps
        self.max_steps_per_second = max_steps_per_second
        self.lock = threading.RLock()
        self.trainer = Trainer(config)
        self.data_version = 0
        self.uploaded: UploadedData | None = None
        self.watchers = 0  # pages streaming frames (len of _listeners)
        self.last_seen = time.monotonic()
        self._thread: threading.Thread | None = None
        self._playing = threading.Event()
        self._closed = False
        self._frame: tuple[int, str] | None = None
        self._frame_seq = 0
        self._generation = 0
        self._listeners: set = set()  # (event loop, asyncio.Event) of the pages streaming

    # ---- state --------------------------------------------------------------------------
    @property
    def config(self) -> Config:
        return self.trainer.config

    @property
    def playing(self) -> bool:
        return self._playing.is_set()

    def touch(self) -> None:
        self.last_seen = time.monotonic()

    def reconfigure(self, config: Config, uploaded: UploadedData | None = None) -> None:
        """A new network (and data when it changed); training stops, as TF Playground's."""
        self.pause()
        with self.lock:
            if uploaded is not None:
                self.uploaded = uploaded
            elif not config.custom:
                self.uploaded = None
            old = self.trainer.config
            self.trainer = Trainer(config, self.uploaded if config.custom else None)
            if (uploaded is not None or old.dataset != config.dataset or old.seed != config.seed
                    or any(getattr(old, k) != getattr(config, k)
                           for k in ("points", "noise", "train_ratio", "classes", "problem"))):
                self.data_version += 1
            self._changed()

    # ---- training -----------------------------------------------------------------------
    def step(self) -> None:
        """One epoch, now (the page's "step" button)."""
        with self.lock:
            self.trainer.run_epoch()
            self._changed()

    def play(self) -> None:
        with self.lock:
            if self._closed or self.playing:
                return
            self._playing.set()
            self._changed()  # the page's play button reads "playing" from the frame
            self._generation += 1  # a thread asked to stop but still finishing its epoch quits
            self._thread = threading.Thread(target=self._train, args=(self._generation,),
                                            name=f"playground-{self.id[:6]}", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Ask the training thread to stop after its epoch, without waiting for it."""
        if self.playing:
            self._playing.clear()
            self._changed()

    def pause(self) -> None:
        was_playing = self.playing
        self._playing.clear()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self._thread = None
        if was_playing:
            self._changed()

    def close(self) -> None:
        self._closed = True
        self.pause()

    def _train(self, generation: int) -> None:
        while self.playing and generation == self._generation and not self._closed:
            if not self.watchers and time.monotonic() - self.last_seen > self.ttl:
                self._playing.clear()  # an abandoned session stops training on its own
                break
            started = time.perf_counter()
            with self.lock:
                if not self.playing or generation != self._generation:
                    break
                steps = self.trainer.run_epoch()
                self._frame_seq += 1
                if self._listeners:  # build the frame here, off the server's event loop
                    self.latest()
            self._notify()
            # the caps: frames per second and optimizer steps per second
            wait = max(1 / self.max_fps, steps / self.max_steps_per_second)
            wait -= time.perf_counter() - started
            if wait > 0:
                time.sleep(wait)

    # ---- frames ---------------------------------------------------------------------------
    def _changed(self) -> None:
        self._frame_seq += 1
        self._notify()

    def _notify(self) -> None:
        for loop, event in list(self._listeners):
            loop.call_soon_threadsafe(event.set)

    def listen(self, loop, event) -> None:
        """Set ``event`` (on ``loop``) whenever the state changes: a stream waits on it."""
        self._listeners.add((loop, event))
        self.watchers = len(self._listeners)

    def unlisten(self, loop, event) -> None:
        self._listeners.discard((loop, event))
        self.watchers = len(self._listeners)

    def published(self) -> tuple[int, str] | None:
        """The last frame built, without waiting for the training thread's lock."""
        return self._frame

    @property
    def frame_seq(self) -> int:
        return self._frame_seq

    def latest(self) -> tuple[int, str]:
        """(sequence number, the frame as JSON) for the current state, built once per change."""
        with self.lock:
            if self._frame is None or self._frame[0] != self._frame_seq:
                frame = self.trainer.frame()
                frame.update(type="frame", playing=self.playing, data_version=self.data_version)
                self._frame = (self._frame_seq, json.dumps(frame, separators=(",", ":")))
            return self._frame

    def state(self) -> dict:
        """Settings, points and the current frame: what a page needs to draw from scratch."""
        with self.lock:
            return {"id": self.id, "config": self.config.to_dict(), "data": self.trainer.data(),
                    "data_version": self.data_version, "frame": json.loads(self.latest()[1])}


class SessionStore:
    """At most ``max_sessions`` sessions; one idle for ``ttl`` seconds is closed and dropped."""

    def __init__(self, max_sessions: int = MAX_SESSIONS, ttl: float = SESSION_TTL,
                 **session_options) -> None:
        self.max_sessions = max_sessions
        self.ttl = ttl
        self.session_options = session_options
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._sessions)

    def create(self, config: Config) -> Session:
        """A new session; when all slots are taken, the least recently used one that no page
        is watching is dropped (its tab gets a fresh session when it comes back)."""
        self.expire()
        with self._lock:
            if len(self._sessions) >= self.max_sessions:
                idle = [s for s in self._sessions.values() if not s.watchers]
                if not idle:
                    raise TooManySessions(
                        f"{self.max_sessions} sessions are open and watched; close a tab")
                victim = min(idle, key=lambda s: s.last_seen)
                del self._sessions[victim.id]
                victim.close()
            session_id = secrets.token_urlsafe(16)
            session = Session(session_id, config, ttl=self.ttl, **self.session_options)
            self._sessions[session_id] = session
            return session

    def get(self, session_id: str) -> Session | None:
        session = self._sessions.get(session_id)
        if session is not None:
            session.touch()
        return session

    def expire(self) -> None:
        now = time.monotonic()
        with self._lock:
            old = [s for s in self._sessions.values()
                   if not s.watchers and now - s.last_seen > self.ttl]
            for s in old:
                del self._sessions[s.id]
        for s in old:
            s.close()

    def close_all(self) -> None:
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), {}
        for s in sessions:
            s.close()
