"""The one-stop system's HTTP API (SOURCES.md §1), served from a :class:`OneStopWorld`.

- ``POST /oauth/token`` (form: grant_type=client_credentials, client_id, client_secret)
  → ``{"access_token", "token_type": "Bearer", "expires_in"}``; bad credentials → 401.
- ``GET /api/v1/donvi | /api/v1/thutuc | /api/v1/hoso`` with ``Authorization: Bearer …``;
  ``page`` (1-based, default 1), ``size`` (1–1000, default 100),
  ``updated_from`` (inclusive) / ``updated_to`` (exclusive): ISO 8601 with an offset, compared
  with NgayCapNhat. Answer: ``{"total", "page", "size", "data"}``, records ordered by
  (NgayCapNhat, key).
- ``GET /health`` → 200 (no auth).

The world is viewed as of one moment, fixed per server (``set_as_of`` moves it): records are
sorted and JSON-encoded once, so a request is two binary searches and a slice.

Run as a process: ``python -m govkpi.simulator.onestop --port 8801`` (see ``--help``).
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import hmac
import math
import os
import secrets
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import web

from govkpi.simulator.mess import Manifest, Mess, onestop_rules, sort_rows, sorted_manifest
from govkpi.simulator.mess import apply as apply_mess
from govkpi.simulator.serving import (
    ClockedServer,
    Faults,
    add_server_arguments,
    bad_request,
    describe_mess,
    fault_middleware,
    json_response,
    mess_option,
    serve_until_signalled,
    world_and_faults,
)
from govkpi.simulator.world import OneStopWorld, generate_world, iso

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100
DEFAULT_CLIENT_ID = "govkpi"
DEFAULT_CLIENT_SECRET = "govkpi-secret"  # the simulator's well-known test secret
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)

# endpoint path → (world view, key field)
ENDPOINTS = {
    "/api/v1/donvi": ("units_as_of", "MaDonVi"),
    "/api/v1/thutuc": ("procedures_as_of", "MaTTHC"),
    "/api/v1/hoso": ("dossiers_as_of", "MaHoSo"),
}


def _micros(value: dt.datetime) -> int:
    return (value - _EPOCH) // _MICROSECOND


def _stamp(record: dict[str, Any]) -> int:
    return _micros(dt.datetime.fromisoformat(record["NgayCapNhat"]))


class _SortedRecords:
    """Records of one endpoint, sorted by (NgayCapNhat, key) and pre-encoded as JSON (with
    ``mess`` applied: see :mod:`govkpi.simulator.mess`)."""

    __slots__ = ("bodies", "stamps")

    def __init__(self, records: Sequence[dict[str, Any]], key: str, *, path: str = "",
                 mess: Mess | None = None, manifest: Manifest | None = None) -> None:
        rows = [(_stamp(r), r[key], r) for r in records]
        if mess is not None and mess.active:
            rows = apply_mess(mess, onestop_rules(path, _stamp), rows,
                              manifest if manifest is not None else [])
        rows = sort_rows(rows)
        encode = msgspec.json.Encoder().encode
        self.stamps = [stamp for stamp, _, _ in rows]
        self.bodies = [encode(r) for _, _, r in rows]

    def page(self, lo: int | None, hi: int | None, page: int, size: int) -> bytes:
        start = 0 if lo is None else bisect.bisect_left(self.stamps, lo)
        stop = len(self.stamps) if hi is None else bisect.bisect_left(self.stamps, hi)
        total = max(0, stop - start)
        first = start + (page - 1) * size
        chunk = self.bodies[first:min(stop, first + size)] if first < stop else []
        return b"".join((b'{"total":%d,"page":%d,"size":%d,"data":[' % (total, page, size),
                         b",".join(chunk), b"]}"))


@dataclass
class _State:
    client_id: str
    client_secret: str
    token_ttl: float
    as_of: dt.datetime
    views: dict[str, _SortedRecords]
    tokens: dict[str, float] = field(default_factory=dict)  # token → monotonic expiry
    mess: Mess | None = None
    manifest: Manifest = field(default_factory=list)
    views_for: Callable[[dt.datetime], dict[str, Any]] | None = None  # e.g. a disk store


def build_views(world: OneStopWorld, as_of: dt.datetime, mess: Mess | None = None,
                manifest: Manifest | None = None) -> dict[str, _SortedRecords]:
    """The sorted views of every endpoint; problems ``mess`` injects go to ``manifest``."""
    found: Manifest = []
    views = {path: _SortedRecords(getattr(world, view)(as_of), key, path=path, mess=mess,
                                  manifest=found)
             for path, (view, key) in ENDPOINTS.items()}
    if manifest is not None:
        manifest.extend(sorted_manifest(found))
    return views


_STATE = web.AppKey("onestop_state", _State)


def _unauthorized(message: str) -> web.Response:
    return json_response(401, {"error": "invalid_token", "message": message},
                 {"WWW-Authenticate": 'Bearer realm="onestop", error="invalid_token"'})


async def _token(request: web.Request) -> web.Response:
    state = request.app[_STATE]
    if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return json_response(400, {"error": "invalid_request",
                           "message": "send grant_type, client_id and client_secret as an "
                                      "application/x-www-form-urlencoded form"})
    form = await request.post()
    if form.get("grant_type") != "client_credentials":
        return json_response(400, {"error": "unsupported_grant_type",
                           "message": "grant_type must be client_credentials"})
    client_id = str(form.get("client_id", ""))
    client_secret = str(form.get("client_secret", ""))
    if not (hmac.compare_digest(client_id.encode(), state.client_id.encode())
            and hmac.compare_digest(client_secret.encode(), state.client_secret.encode())):
        return json_response(401, {"error": "invalid_client",
                           "message": "unknown client_id or wrong client_secret"})
    now = time.monotonic()
    for stale in [t for t, expiry in state.tokens.items() if expiry <= now]:
        del state.tokens[stale]
    token = secrets.token_urlsafe(32)
    state.tokens[token] = now + state.token_ttl
    return json_response(200, {"access_token": token, "token_type": "Bearer",
                       "expires_in": math.ceil(state.token_ttl)})


def _check_token(request: web.Request, state: _State) -> web.Response | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _unauthorized("missing bearer token: POST /oauth/token first, then send "
                             "'Authorization: Bearer <access_token>'")
    expiry = state.tokens.get(token.strip())
    if expiry is None:
        return _unauthorized("unknown access token: request a new one at /oauth/token")
    if expiry <= time.monotonic():
        del state.tokens[token.strip()]
        return _unauthorized("access token expired: request a new one at /oauth/token")
    return None


def _int_param(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not an integer") from None


def _time_param(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    hint = ""
    if " " in raw:
        hint = " (a '+' in a query string must be sent percent-encoded as %2B)"
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not an ISO 8601 time such as "
                         f"2017-03-14T09:12:00+07:00{hint}") from None
    if value.tzinfo is None:
        raise ValueError(f"{name}={raw!r} has no UTC offset: add one, e.g. +07:00")
    return _micros(value)


async def _collection(request: web.Request) -> web.Response:
    state = request.app[_STATE]
    denied = _check_token(request, state)
    if denied is not None:
        return denied
    try:
        page = _int_param(request, "page", 1)
        size = _int_param(request, "size", DEFAULT_PAGE_SIZE)
        lo = _time_param(request, "updated_from")
        hi = _time_param(request, "updated_to")
    except ValueError as exc:
        return bad_request(str(exc))
    if page < 1:
        return bad_request(f"page={page}: pages start at 1")
    if not 1 <= size <= MAX_PAGE_SIZE:
        return bad_request(f"size={size}: must be between 1 and {MAX_PAGE_SIZE}")
    body = state.views[request.path].page(lo, hi, page, size)
    return web.Response(body=body, content_type="application/json", charset="utf-8")


async def _health(request: web.Request) -> web.Response:
    state = request.app[_STATE]
    return json_response(200, {"status": "ok", "as_of": iso(state.as_of),
                       "records": {path: len(v.stamps) for path, v in state.views.items()}})


def create_app(world: OneStopWorld, as_of: dt.datetime | None = None, *,
               client_id: str = DEFAULT_CLIENT_ID, client_secret: str = DEFAULT_CLIENT_SECRET,
               token_ttl: float = 3600.0, faults: Faults | None = None,
               mess: Mess | None = None,
               views_for: Callable[[dt.datetime], dict[str, Any]] | None = None
               ) -> web.Application:
    """The aiohttp application (also usable with aiohttp's test client). ``mess`` (default:
    none) injects realistic problems into the served records (:mod:`govkpi.simulator.mess`).
    ``views_for(as_of)`` replaces the in-memory views of ``world`` (a disk store serves
    province scale this way, :mod:`govkpi.simulator.store`); it cannot be combined with mess."""
    if views_for is not None and mess is not None and mess.active:
        raise ValueError("mess is applied to in-memory views only; a store serves clean records")
    as_of = as_of or world.default_as_of
    app = web.Application(middlewares=[fault_middleware(faults)] if faults else [])
    manifest: Manifest = []
    views = views_for(as_of) if views_for else build_views(world, as_of, mess, manifest)
    app[_STATE] = _State(client_id, client_secret, token_ttl, as_of, views, mess=mess,
                         manifest=manifest, views_for=views_for)
    app.router.add_post("/oauth/token", _token)
    for path in ENDPOINTS:
        app.router.add_get(path, _collection)
    app.router.add_get("/health", _health)
    return app


class OneStopServer(ClockedServer):
    """The one-stop API on a background thread with its own event loop.

    >>> with OneStopServer(generate_world(dossiers=100)) as server:
    ...     server.url  # 'http://127.0.0.1:54321'
    """

    name = "one-stop simulator"

    def __init__(self, world: OneStopWorld, as_of: dt.datetime | None = None,
                 client_id: str = DEFAULT_CLIENT_ID, client_secret: str = DEFAULT_CLIENT_SECRET,
                 host: str = "127.0.0.1", port: int = 0, token_ttl: float = 3600.0,
                 faults: Faults | None = None, mess: Mess | None = None,
                 views_for: Callable[[dt.datetime], dict[str, Any]] | None = None) -> None:
        self.world = world
        self.client_id, self.client_secret = client_id, client_secret
        super().__init__(create_app(world, as_of, client_id=client_id,
                                    client_secret=client_secret, token_ttl=token_ttl,
                                    faults=faults, mess=mess, views_for=views_for), host, port)

    state_key = _STATE

    def _build_views(self, as_of: dt.datetime, mess: Mess | None, manifest: Manifest):
        return build_views(self.world, as_of, mess, manifest)


def run_forever(world: OneStopWorld | None = None, *, as_of: dt.datetime | None = None,
                host: str = "127.0.0.1", port: int = 8801, seed: int = 2017,
                dossiers: int = 10_000, years: Sequence[int] = (2016, 2017),
                client_id: str = DEFAULT_CLIENT_ID, client_secret: str = DEFAULT_CLIENT_SECRET,
                token_ttl: float = 3600.0, faults: Faults | None = None,
                mess: Mess | None = None) -> None:
    """Serve until SIGTERM or SIGINT (main thread only). Without ``world``, generate one from
    ``seed``, ``dossiers`` and ``years``."""
    world = world or generate_world(seed=seed, dossiers=dossiers, years=years)
    app = create_app(world, as_of, client_id=client_id, client_secret=client_secret,
                     token_ttl=token_ttl, faults=faults, mess=mess)
    state = app[_STATE]
    serve_until_signalled(app, host, port, lambda bound: (
        f"one-stop simulator listening on http://{host}:{bound} "
        f"({len(state.views['/api/v1/hoso'].stamps)} dossiers as of {iso(state.as_of)}; "
        f"client_id={client_id}; {describe_mess(state.manifest)})"))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m govkpi.simulator.onestop",
        description="Serve a deterministic synthetic Bình Định one-stop system (SOURCES.md §1) "
                    "over HTTP until SIGTERM/SIGINT.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_server_arguments(parser, port=8801)
    parser.add_argument("--client-id",
                        default=os.environ.get("GOVKPI_ONESTOP_CLIENT_ID", DEFAULT_CLIENT_ID),
                        help="OAuth2 client id (env GOVKPI_ONESTOP_CLIENT_ID)")
    parser.add_argument("--client-secret",
                        default=os.environ.get("GOVKPI_ONESTOP_CLIENT_SECRET",
                                               DEFAULT_CLIENT_SECRET),
                        help="OAuth2 client secret (env GOVKPI_ONESTOP_CLIENT_SECRET)")
    parser.add_argument("--token-ttl", type=float, default=3600.0,
                        help="access-token lifetime in seconds")
    args = parser.parse_args(argv)
    world, faults = world_and_faults(parser, args)
    run_forever(world, as_of=args.as_of, host=args.host, port=args.port,
                client_id=args.client_id, client_secret=args.client_secret,
                token_ttl=args.token_ttl, faults=faults, mess=mess_option(parser, args))


if __name__ == "__main__":
    sys.exit(main())
