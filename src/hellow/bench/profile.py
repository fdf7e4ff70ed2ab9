"""`--profile DIR`: py-spy records the server during each measured step.

Each step leaves `DIR/<step>-<pid>.txt` (py-spy's collapsed stacks, for flame graphs)
and a summary of where the time went: the functions that were on CPU themselves
(self) and the frames that include the most samples (total), by file and function.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

_LINE = re.compile(r"^(?P<stack>.*) (?P<count>\d+)$")
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _where(frame: str) -> str:
    """`func (path/to/file.py:12)` -> `file.py:func` (lines merged)."""
    match = _FRAME.match(frame)
    if not match:
        return frame
    return f"{Path(match['file']).name}:{match['func']}"


class Profiler:
    def __init__(self, folder: Path, rate: int = 200) -> None:
        self.folder = folder
        self.rate = rate
        beside = Path(sys.executable).with_name("py-spy")  # the venv's, when not on PATH
        self.exe = str(beside) if beside.exists() else (shutil.which("py-spy") or "py-spy")
        self._procs: list[tuple[subprocess.Popen[bytes], Path]] = []

    @property
    def pids(self) -> list[int]:
        return [proc.pid for proc, _ in self._procs]

    def available(self) -> bool:
        return shutil.which(self.exe) is not None

    def start(self, name: str, pids: list[int]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        for pid in pids:
            out = self.folder / f"{slug}-{pid}.txt"
            args = [self.exe, "record", "--pid", str(pid), "--rate", str(self.rate)]
            args += ["--format", "raw", "--output", str(out), "--nonblocking", "--threads"]
            proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self._procs.append((proc, out))

    def stop(self) -> list[Path]:
        """Stop recording (py-spy writes its file on SIGINT); returns the summaries."""
        out = []
        for proc, path in self._procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if path.exists():
                summary = path.with_suffix(".summary.txt")
                summary.write_text(summarize(path.read_text()))
                out.append(summary)
        self._procs.clear()
        return out


def summarize(raw: str, top: int = 25) -> str:
    """Self and total samples per function from py-spy's collapsed stacks."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    samples = 0
    for line in raw.splitlines():
        match = _LINE.match(line.strip())
        if not match:
            continue
        count = int(match["count"])
        frames = match["stack"].split(";")
        samples += count
        threads[frames[0]] += count
        where = [_where(f) for f in frames[1:]] or [frames[0]]
        own[where[-1]] += count
        for name in set(where):
            total[name] += count
    if not samples:
        return "no samples\n"
    lines = [f"{samples} samples", "", "by thread:"]
    lines += [f"  {100 * n / samples:5.1f}%  {name}" for name, n in threads.most_common(8)]
    lines += ["", "self (on CPU in this function):"]
    lines += [f"  {100 * n / samples:5.1f}%  {name}" for name, n in own.most_common(top)]
    lines += ["", "total (this function or what it called):"]
    lines += [f"  {100 * n / samples:5.1f}%  {name}" for name, n in total.most_common(top)]
    return "\n".join(lines) + "\n"
