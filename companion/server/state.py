"""What the transports hold besides the Companion: token, allowed origins, window sessions, port."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from aiohttp import web

from companion.app import Companion
from companion.errors import CompanionError
from companion.server.window.sessions import WindowSessions, link_url


@dataclass
class ServerState:
    #: The per-install token every request must present.
    token: str = field(repr=False)
    #: Allowed browser origins, each exactly `chrome-extension://<id>`.
    extension_origins: frozenset[str] = frozenset()
    #: The settings window's one-time links and cookie sessions.
    window: WindowSessions = field(default_factory=WindowSessions)
    #: The TCP port the daemon listens on, once it does (the window's links point there).
    http_port: int | None = None

    def window_link(self) -> str:
        """A fresh one-time link to the settings window (for the CLI, the tray, the extension)."""
        if self.http_port is None:
            raise CompanionError("the daemon is not listening on TCP yet, so the settings window cannot open")
        return link_url(self.http_port, self.window.new_code())


#: Where a request handler finds them: `request.app[COMPANION_KEY]`, `request.app[STATE_KEY]`.
COMPANION_KEY: Final = web.AppKey("companion", Companion)
STATE_KEY: Final = web.AppKey("companion_server_state", ServerState)
