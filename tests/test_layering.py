"""The domain never sees a request: only the HTTP edge imports the web framework."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "hellow"
DOMAIN = ["chat.py", "hub.py", "records.py", "wire.py", "sse.py", "errors.py", "store", "bus"]
WEB_FRAMEWORKS = ("fastapi", "starlette", "uvicorn", "httpx")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_domain_modules_do_not_import_the_web_framework() -> None:
    files: list[Path] = []
    for name in DOMAIN:
        target = PACKAGE / name
        files += sorted(target.rglob("*.py")) if target.is_dir() else [target]
    assert len(files) >= 8
    offenders = {
        str(f.relative_to(PACKAGE)): sorted(i for i in _imports(f) if i.startswith(WEB_FRAMEWORKS))
        for f in files
    }
    assert {f: i for f, i in offenders.items() if i} == {}
