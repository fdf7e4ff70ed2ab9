"""A database that cannot be read stops the server with a clear error and stays as it was."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from support import ROOT, free_port

# Settings from the environment that would point the server elsewhere.
OUTSIDE_SETTINGS = {"HELLOW_REDIS_URL", "REDIS_URL", "KV_URL", "HELLOW_DATA_DIR"}


def test_a_corrupt_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    db = tmp_path / "hellow.db"
    db.write_bytes(b"not a database " * 1000)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    command = [sys.executable, "-m", "hellow", "serve", "--port", str(free_port())]
    done = subprocess.run(
        [*command, "--data-dir", str(tmp_path)],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k not in OUTSIDE_SETTINGS},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 3
    assert "hellow.db cannot be used" in done.stderr
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert {p.name for p in tmp_path.iterdir()} <= {"hellow.db", "jwt-secret"}
