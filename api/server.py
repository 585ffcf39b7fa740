"""How ``rag serve`` runs the app: uvicorn, with a shutdown that ends within seconds.

uvicorn's graceful shutdown waits for every running request, without end by default.
A request waiting for a long parse held SIGTERM for over 60 s (issue 32, item 7), and one
splitting 5 MB of text into sentences for 20 s or more (issue 37, item 5; then a 500):
on SIGTERM or SIGINT the writes under way are stopped first (their parse or split
worker killed, their embedding cut at its next slice), so each ends at once with a 503
"the service is shutting down; retry", answered within the grace; whatever still runs
after :data:`SHUTDOWN_GRACE_SECONDS` is cancelled (a task waiting for a thread is
cancelled only once the thread returns, hence nothing long may run in one).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import FrameType

import uvicorn
from fastapi import FastAPI

from api.logs import log_config
from api.protocol import protocol_class
from rag.core.settings import Settings

#: Seconds requests still running at SIGTERM are given before they are cancelled.
SHUTDOWN_GRACE_SECONDS = 3


class StoppingServer(uvicorn.Server):
    """uvicorn's server, calling ``stop_first`` as soon as it is told to exit."""

    def __init__(self, config: uvicorn.Config, stop_first: Callable[[], None]) -> None:
        super().__init__(config)
        self.stop_first = stop_first

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # on a thread: a signal handler must not wait for a lock that the code it
        # interrupted may hold
        threading.Thread(target=self.stop_first, name="stop-writes", daemon=True).start()
        super().handle_exit(sig, frame)


def serve(
    app: FastAPI, settings: Settings, host: str, port: int, stop_first: Callable[[], None]
) -> None:
    """Serve ``app`` until SIGTERM or SIGINT, as ``uvicorn.run`` would, but calling
    ``stop_first`` (the pipeline's ``stop_writes``) at once on either."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        log_config=log_config(),
        http=protocol_class(settings.body_timeout),
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )
    server = StoppingServer(config, stop_first)
    server.run()
    if not server.started:
        raise SystemExit(3)  # as uvicorn.run does: the port was taken, or the app failed
