"""The progress display of long runs (``fit``, the demo): a live rich bar on a terminal, plain
lines in a log or a pipe (or when rich is missing), nothing when disabled.

``with ProgressDisplay() as shown: shown.start("training", 100); shown.update(1, "loss 0.5")``
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

_REFRESH = 0.1  # seconds between bar updates: a bar redrawn every step slows a fast loop


class ProgressDisplay:
    """``start`` a bar of ``total`` steps, ``update`` it, print permanent ``line``s above it;
    ``note`` prints only where there is no bar (a log gets a line where a terminal gets a bar).
    """

    def __init__(self, enabled: bool = True, stream=None) -> None:
        self.enabled = enabled
        self.stream = stream
        self.bar: Progress | None = None
        self.task: TaskID | None = None
        self._last = 0.0
        if enabled and (stream or sys.stdout).isatty():
            try:
                import rich.progress as rp
            except ImportError:
                return
            self.bar = rp.Progress(
                rp.TextColumn("{task.description}"), rp.BarColumn(), rp.MofNCompleteColumn(),
                rp.TimeElapsedColumn(), rp.TextColumn("{task.fields[text]}"), transient=True)
            self.bar.start()

    @property
    def live(self) -> bool:
        """Whether a live bar is shown (a terminal with rich installed)."""
        return self.bar is not None

    def start(self, label: str, total: int | None) -> None:
        if self.bar is None:
            return
        if self.task is None:
            self.task = self.bar.add_task(label, total=total, text="")
        else:
            self.bar.reset(self.task, total=total, description=label, text="")

    def update(self, done: int, text: str = "", force: bool = False) -> None:
        if self.bar is None or self.task is None:  # no bar, or not started
            return
        now = time.perf_counter()
        if force or now - self._last >= _REFRESH:
            self._last = now
            self.bar.update(self.task, completed=done, text=text)

    def line(self, text: str) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.console.print(text, highlight=False)
        else:
            print(text, file=self.stream or sys.stdout, flush=True)

    def note(self, text: str) -> None:
        if not self.live:
            self.line(text)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None

    def __enter__(self) -> ProgressDisplay:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
