"""`hellow serve | doctor | bench`: the command line."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from .config import Settings, settings_table


def _serve(argv: list[str]) -> int:
    table = "\n".join(f"  {env:40} {default:16} {help}" for env, default, help in settings_table())
    parser = argparse.ArgumentParser(
        prog="hellow serve",
        description="Serve Hellow.",
        epilog="environment:\n" + table,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", help="listen address (HELLOW_HOST)")
    parser.add_argument("--port", type=int, help="listen port (HELLOW_PORT)")
    parser.add_argument("--data-dir", type=Path, help="SQLite data folder (HELLOW_DATA_DIR)")
    args = parser.parse_args(argv)
    settings = Settings.from_env(host=args.host, port=args.port, data_dir=args.data_dir)
    from .server import serve

    return serve(settings)


# Subcommands that live in their own modules, each with `main(argv) -> int`.
_MODULES = {"doctor": "hellow.doctor", "bench": "hellow.bench"}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = ["serve", *_MODULES]
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in commands:
        print(f"usage: hellow {{{','.join(commands)}}} [options]", file=sys.stderr)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    command, rest = argv[0], argv[1:]
    if command == "serve":
        return _serve(rest)
    module = importlib.import_module(_MODULES[command])
    return int(module.main(rest))


if __name__ == "__main__":
    sys.exit(main())
