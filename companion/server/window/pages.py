"""The settings window on the daemon: its one-time links, pages, session API and security headers.

    GET    /window/open?t=<code>    trade a one-time code for the session cookie, 303 to /window/
    GET    /window/                 the window (or a page saying how to get a new link)
    GET    /window/static/...       its CSS and JavaScript modules (no data in them)
    POST   /api/window/link         (bearer token only) a new one-time link: {"url", "expires_in"}
    GET    /api/window/session      (window only) this session's CSRF token, admin mode, idle timeout
    DELETE /api/window/session      (window only) sign out

`/window/open` is the one GET that changes anything: it spends a one-time code, in memory, which
is what a one-time link is for (a browser opens links with GET). It writes nothing to disk, and
the code it spends is unguessable, single use and a minute long, so no other page can use it.

The cookie is HttpOnly (page scripts cannot read it), SameSite=Strict (no other site's pages send
it) and Path=/. It has no Secure flag: the daemon speaks plain HTTP on 127.0.0.1, where the
cookie never crosses a network, and browsers disagree on whether a Secure cookie is kept for
http://127.0.0.1, so the flag would only make sign-in fail on some of them. Cookies are not
separated by port, so the session is also checked for the window's own origin (security.py).
"""

from __future__ import annotations

from typing import Final

from aiohttp import hdrs, web

from companion.errors import BadRequestError, UnauthorizedError
from companion.server.routes import ApiRoutes, mutating
from companion.server.security import AUTH_KIND_KEY, WINDOW_SESSION_KEY
from companion.server.state import COMPANION_KEY, STATE_KEY
from companion.server.window.sessions import COOKIE_NAME, OPEN_PATH, WindowSession
from companion.web import STATIC_DIR, WEB_DIR

LINK_PATH: Final = "/api/window/link"
SESSION_PATH: Final = "/api/window/session"
WINDOW_PATH: Final = "/window/"
STATIC_PATH: Final = "/window/static"

#: Self only, no inline script or style, no framing, no plugins, forms and fetches to this origin.
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'; object-src 'none'"
)


# --- the API of the window's session ---------------------------------------------------------------


@mutating
async def post_link(request: web.Request) -> web.Response:
    if request.get(AUTH_KIND_KEY) != "token":
        # A window session must not be able to mint more sessions for itself.
        raise UnauthorizedError("links are made with the daemon's token (cats-companion settings does it)")
    state = request.app[STATE_KEY]
    admin = request.app[COMPANION_KEY].settings.admin
    return web.json_response(
        {"url": state.window_link(), "expires_in": state.window.link_ttl, "admin": admin}
    )


def _own_session(request: web.Request) -> WindowSession:
    if WINDOW_SESSION_KEY not in request:
        raise BadRequestError("this describes the settings window's own session; open the window first")
    return request[WINDOW_SESSION_KEY]


async def get_session(request: web.Request) -> web.Response:
    session = _own_session(request)
    companion, window = request.app[COMPANION_KEY], request.app[STATE_KEY].window
    return web.json_response(
        {
            "csrf_token": session.csrf_token,
            "admin": companion.settings.admin,
            "idle_timeout": window.idle_timeout,
            "expires_in": window.expires_in(session),
            "version": companion.version,
        }
    )


@mutating
async def delete_session(request: web.Request) -> web.Response:
    session = _own_session(request)
    request.app[STATE_KEY].window.end(session.id)
    response = web.json_response({"signed_out": True})
    response.del_cookie(COOKIE_NAME, path="/")
    return response


def register(routes: ApiRoutes) -> None:
    routes.add("POST", LINK_PATH, post_link)
    routes.add("GET", SESSION_PATH, get_session)
    routes.add("DELETE", SESSION_PATH, delete_session)


# --- the pages ---------------------------------------------------------------------------------------


def _page(name: str, status: int) -> web.Response:
    return web.Response(
        body=(WEB_DIR / name).read_bytes(), status=status, content_type="text/html", charset="utf-8"
    )


async def open_link(request: web.Request) -> web.StreamResponse:
    window = request.app[STATE_KEY].window
    codes = request.query.getall("t", [])
    session = window.redeem(codes[0]) if len(codes) == 1 else None
    if session is None:
        return _page("link-expired.html", 403)
    response = web.Response(status=303, headers={hdrs.LOCATION: WINDOW_PATH})
    # samesite="Strict": sent only with requests made by 127.0.0.1's own pages (see the docstring).
    response.set_cookie(COOKIE_NAME, session.id, path="/", httponly=True, samesite="Strict")
    return response


async def window_page(request: web.Request) -> web.StreamResponse:
    cookie = request.cookies.get(COOKIE_NAME)
    if cookie is None or request.app[STATE_KEY].window.find(cookie) is None:
        return _page("session-ended.html", 401)
    return _page("index.html", 200)


async def window_root(request: web.Request) -> web.StreamResponse:
    raise web.HTTPPermanentRedirect(WINDOW_PATH)


async def _window_headers(request: web.Request, response: web.StreamResponse) -> None:
    if request.path.startswith("/window"):
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers[hdrs.X_FRAME_OPTIONS] = "DENY"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers["Cross-Origin-Resource-Policy"] = "same-origin"


def install(app: web.Application) -> None:
    """Add the window's pages, static files and headers to `app` (the API routes go through `register`)."""
    # Directly on the router, not through ApiRoutes: /window/open spends a code on GET (see above).
    app.router.add_get(OPEN_PATH, open_link, allow_head=False)
    app.router.add_get(WINDOW_PATH, window_page)
    app.router.add_get(WINDOW_PATH.rstrip("/"), window_root)
    app.router.add_static(STATIC_PATH, STATIC_DIR, follow_symlinks=False, append_version=False)
    app.on_response_prepare.append(_window_headers)
