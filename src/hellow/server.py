"""Run the app on uvicorn (uvloop, httptools) with a graceful shutdown."""

from __future__ import annotations

import logging
import sys
from typing import Any

import orjson
import uvicorn

from .app import create_app
from .config import Settings

# Streams are ended at once on SIGTERM; this bounds the wait for other requests.
GRACEFUL_SHUTDOWN_S = 5


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def configure_logging(fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


class Server(uvicorn.Server):
    """Ends every open event stream as soon as shutdown begins: uvicorn would otherwise
    wait for them, since an event stream never ends by itself."""

    def handle_exit(self, sig: int, frame: Any) -> None:
        app = self.config.loaded_app
        services = getattr(getattr(app, "state", None), "services", None)
        if services is None:  # wrapped by uvicorn's middleware
            inner = getattr(app, "app", None)
            services = getattr(getattr(inner, "state", None), "services", None)
        if services is not None:
            services.hub.close_all("shutdown")
        super().handle_exit(sig, frame)


def serve(settings: Settings) -> int:
    configure_logging(settings.log_format)
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        # X-Forwarded-For/-Proto are believed only from 127.0.0.1 (a local TLS proxy):
        # the cookie is then marked Secure and throttling sees the real address.
        proxy_headers=True,
    )
    server = Server(config)
    server.run()
    return 0 if server.started else 3  # 3: uvicorn's "startup failed"
