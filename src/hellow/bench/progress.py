"""A progress bar on stderr: one rewritten line on a terminal, a line every few seconds if not."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = self.stream.isatty()
        self._last = 0.0
        self._width = 0
        self._label = ""

    def show(self, label: str, fraction: float | None, text: str) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        # A terminal gets ten frames a second; a log file a line every 5 s per phase.
        period = 0.1 if self.tty else 5.0
        if label == self._label and now - self._last < period:
            return
        if not self.tty and label != self._label:
            self._last = 0.0
        self._last, self._label = now, label
        if fraction is None:
            bar = ""
        else:
            f = min(1.0, max(0.0, fraction))
            filled = int(f * 24)
            bar = f"[{'#' * filled}{'.' * (24 - filled)}] {f * 100:3.0f}%  "
        line = f"{label:<28} {bar}{text}"
        if self.tty:
            pad = max(0, self._width - len(line))
            self.stream.write("\r" + line + " " * pad)
            self._width = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def note(self, text: str) -> None:
        """A line that stays (set-up steps, warnings)."""
        if self.quiet and not text.startswith("!"):
            return
        self.end()
        self.stream.write(text + "\n")
        self.stream.flush()

    def end(self) -> None:
        if self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
        self._width = 0
        self._label = ""


def count(n: float) -> str:
    """12.3k, 4.56M: short numbers for the bar."""
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.3g}{unit}"
    return f"{n:.0f}"
