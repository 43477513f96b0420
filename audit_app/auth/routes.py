"""The app server's own HTTP routes: the session cookie in and out (see auth.cookies).

They run in the Starlette server that serves Streamlit (audit_app/ui/server.py) and open
the store named by TUCANO_AUDIT_STORE, as the pages do. Store calls are blocking SQLite,
so they run in Starlette's thread pool.
"""

from __future__ import annotations

import os
import time
from functools import cache

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from audit_app.auth import cookies
from data import paths
from data.store import Store

MAX_BODY = 200


@cache
def _store(path: str) -> Store:
    return Store(path)


def store() -> Store:
    return _store(os.environ.get(paths.ENV_STORE) or str(paths.store_path()))


async def session_route(request: Request) -> Response:
    """Trade a one-time hand-off code (the body) for the HTTP-only session cookie."""
    code = (await request.body())[:MAX_BODY].decode("utf-8", errors="replace").strip()
    the_store = store()
    redeemed = await run_in_threadpool(the_store.redeem_handoff, code)
    if redeemed is None:
        return PlainTextResponse("unknown, used or expired code", status_code=400)
    token, expires_at = redeemed
    key = await run_in_threadpool(the_store.session_key)
    response = Response(status_code=204)
    response.set_cookie(cookies.COOKIE, cookies.sign(key, token), max_age=max(1, int(expires_at - time.time())),
                        path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https")
    return response


async def logout_route(request: Request) -> Response:
    """End the session the cookie names (if any) and delete the cookie."""
    the_store = store()
    key = await run_in_threadpool(the_store.session_key)
    token = cookies.unsign(key, request.cookies.get(cookies.COOKIE))
    if token is not None:
        await run_in_threadpool(lambda: the_store.end_session(token=token, reason="logged out"))
    response = Response(status_code=204)
    response.delete_cookie(cookies.COOKIE, path="/", httponly=True, samesite="lax")
    return response


def routes() -> list[Route]:
    return [Route(cookies.SESSION_ROUTE, session_route, methods=["POST"]),
            Route(cookies.LOGOUT_ROUTE, logout_route, methods=["POST"])]
