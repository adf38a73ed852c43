"""A progress bar for long imports: redrawn in place on a terminal, a line per tenth otherwise."""

from __future__ import annotations

from typing import Any, Protocol

BAR_WIDTH = 30


class Stream(Protocol):
    def write(self, text: str, /) -> Any: ...
    def flush(self) -> Any: ...


class ProgressBar:
    def __init__(self, stream: Any, label: str, *, enabled: bool = True) -> None:
        # A command's OutputWrapper ends every write with a newline; the bar writes to the stream beneath.
        self.stream: Stream = getattr(stream, "_out", stream)
        self.label = label
        self.enabled = enabled
        self.interactive = bool(getattr(stream, "isatty", lambda: False)())
        self._last_tenth = -1

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        share = min(done / total, 1.0)
        filled = int(share * BAR_WIDTH)
        line = f"{self.label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {share:4.0%} {done}/{total}"
        if self.interactive:
            self.stream.write("\r" + line + ("\n" if done >= total else ""))
            self.stream.flush()
        elif int(share * 10) != self._last_tenth:
            self._last_tenth = int(share * 10)
            self.stream.write(line + "\n")
