"""What every simulated system shares: serving an aiohttp app on a background thread or as a
process, and injecting the faults real vendor systems have (SOURCES.md: 429 with Retry-After,
5xx, slow answers, dropped connections, truncated bodies).

Faults are deterministic: a request's fate depends only on (seed, method, path, query), so a
crawl that retries the same URL sees the same sequence of failures on each run.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import signal
import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Faults:
    """Rates are shares of API requests (health and auth endpoints are never faulted).

    A faulted request fails on its first ``repeat`` attempts and succeeds afterwards, so a client
    with retries always gets through (``repeat`` < its attempts).
    """

    error_5xx: float = 0.0
    rate_limit_429: float = 0.0
    retry_after_seconds: int = 1
    latency_ms: int = 0
    dropped_connection: float = 0.0
    truncated_body: float = 0.0
    repeat: int = 1
    seed: int = 0

    @property
    def active(self) -> bool:
        return any((self.error_5xx, self.rate_limit_429, self.latency_ms,
                    self.dropped_connection, self.truncated_body))

    @classmethod
    def parse(cls, spec: str, seed: int = 0) -> Faults:
        """``"5xx=0.02,429=0.01,latency=50,drop=0.005,truncate=0.005,retry-after=1"``."""
        names = {"5xx": "error_5xx", "429": "rate_limit_429", "latency": "latency_ms",
                 "drop": "dropped_connection", "truncate": "truncated_body",
                 "retry-after": "retry_after_seconds", "repeat": "repeat"}
        values: dict[str, Any] = {"seed": seed}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            key, _, raw = part.partition("=")
            if key not in names or not raw:
                raise ValueError(f"fault {part!r}: expected one of {', '.join(names)} as "
                                 "name=value, e.g. 5xx=0.02,429=0.01,latency=50")
            field = names[key]
            values[field] = int(raw) if field in ("latency_ms", "retry_after_seconds",
                                                  "repeat") else float(raw)
        return cls(**values)

    def draw(self, request_key: str) -> float:
        digest = hashlib.blake2b(f"{self.seed}|{request_key}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64


def fault_middleware(faults: Faults, exempt: tuple[str, ...] = ("/health", "/oauth/token")):
    attempts: dict[str, int] = defaultdict(int)

    @web.middleware
    async def inject(request: web.Request, handler):
        if request.path in exempt or not faults.active:
            return await handler(request)
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        key = f"{request.method} {request.path_qs}"
        attempts[key] += 1
        if attempts[key] <= faults.repeat:
            x = faults.draw(key)
            edge = faults.error_5xx
            if x < edge:
                return web.json_response({"error": "internal", "message": "simulated fault"},
                                         status=503)
            if x < (edge := edge + faults.rate_limit_429):
                return web.json_response(
                    {"error": "rate_limited", "message": "too many requests"}, status=429,
                    headers={"Retry-After": str(faults.retry_after_seconds)})
            if x < (edge := edge + faults.dropped_connection):
                request.transport.close()  # the client sees a disconnect with no answer
                raise asyncio.CancelledError
            if x < edge + faults.truncated_body:
                response = await handler(request)
                body = response.body if isinstance(response.body, bytes) else b""
                cut = web.StreamResponse(status=response.status,
                                         headers={"Content-Type": response.content_type,
                                                  "Content-Length": str(len(body))})
                await cut.prepare(request)
                await cut.write(body[: len(body) // 2])
                request.transport.close()
                return cut
        return await handler(request)

    return inject


class BackgroundServer:
    """Serve an aiohttp application on a background thread with its own event loop."""

    name = "simulator"

    def __init__(self, app: web.Application, host: str = "127.0.0.1", port: int = 0) -> None:
        self._app = app
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        if self._thread is None:
            raise RuntimeError("the server is not started: call start() first")
        return f"http://{self.host}:{self.port}"

    async def _serve(self) -> None:
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

    def start(self):
        """Start listening; returns once the port is open (raises if it cannot be)."""
        if self._thread is not None:
            raise RuntimeError("the server is already started")
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread = None
            raise OSError(f"{self.name} cannot listen on {self.host}:{self.port} "
                          f"({self._error}): choose another port or port=0") from self._error
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ClockedServer(BackgroundServer):
    """A simulated system on its own clock: ``as_of``, ``set_as_of`` and the mess manifest.

    The app's state (under ``state_key``) has ``as_of``, ``views``, ``mess``, ``manifest`` and
    ``views_for`` (a disk store's views, else None); a subclass says how to build in-memory
    views (``_build_views``)."""

    state_key: web.AppKey

    @property
    def as_of(self):
        return self._app[self.state_key].as_of

    @property
    def mess_manifest(self) -> list:
        """The problems injected into the current view (see :mod:`govkpi.simulator.mess`)."""
        return self._app[self.state_key].manifest

    def _build_views(self, as_of, mess, manifest: list):
        raise NotImplementedError

    def set_as_of(self, as_of) -> None:
        """Move the simulated clock: later requests see the system at ``as_of``."""
        state = self._app[self.state_key]
        manifest: list = []
        views = (state.views_for(as_of) if state.views_for
                 else self._build_views(as_of, state.mess, manifest))
        # swapped whole: requests see old or new
        state.views, state.as_of, state.manifest = views, as_of, manifest


def serve_until_signalled(app: web.Application, host: str, port: int, banner) -> None:
    """Serve ``app`` in the foreground until SIGTERM or SIGINT; ``banner(bound_port)`` is
    printed once listening."""

    async def serve() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            await runner.cleanup()
            raise SystemExit(f"cannot listen on {host}:{port} ({exc}): choose another --port"
                             ) from None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        print(banner(runner.addresses[0][1]), flush=True)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    asyncio.run(serve())


def parse_years(text: str) -> list[int]:
    """``--years``: a range ``2016-2017`` or a list ``2016,2017``."""
    try:
        if "-" in text:
            first, last = (int(x) for x in text.split("-", 1))
            return list(range(first, last + 1))
        return [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give a range like 2016-2017 or a list like 2016,2017") from None


def parse_as_of(text: str) -> dt.datetime:
    """``--as-of``: ISO 8601 with a UTC offset."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time such as 2018-01-15T08:00:00+07:00") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset: add one, e.g. +07:00")
    return value


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None
                  ) -> web.Response:
    import msgspec

    return web.Response(status=status, body=msgspec.json.encode(payload),
                        content_type="application/json", charset="utf-8", headers=headers)


def bad_request(message: str) -> web.Response:
    return json_response(400, {"error": "invalid_request", "message": message})


def add_server_arguments(parser: argparse.ArgumentParser, *, port: int,
                         as_of_type=parse_as_of, as_of_help: str | None = None) -> None:
    """The options every simulated system's command line shares."""
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=port, help="TCP port (0 = any free port)")
    parser.add_argument("--seed", type=int, default=2017, help="random seed of the world")
    parser.add_argument("--dossiers", type=int, default=10_000,
                        help="dossiers of the one-stop world (the other systems derive from it)")
    parser.add_argument("--years", type=parse_years, default=[2016, 2017],
                        help="years of activity: a range 2016-2017 or a list 2016,2017")
    parser.add_argument("--as-of", type=as_of_type, default=None,
                        help=as_of_help or "simulated 'now' (ISO 8601 with offset); default: "
                                           "15 January 08:00 of the year after the last one")
    parser.add_argument("--faults", default="",
                        help="inject faults, e.g. 5xx=0.02,429=0.01,latency=50,drop=0.005,"
                             "truncate=0.005,retry-after=1")
    add_mess_argument(parser)


def parse_scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--scale {text!r}: a number such as 1.0 or 0.2") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"--scale {text!r}: must be > 0")
    return value


def add_scale_argument(parser: argparse.ArgumentParser) -> None:
    """``--scale``: serve a disk store of a province-scale world instead of an in-memory one."""
    parser.add_argument("--scale", type=parse_scale, default=None,
                        help="SOURCES.md §5 volumes: 1.0 = 1,000,000 dossiers and 3,000,000 "
                             "documents per year of --years (the portal derived from them); "
                             "served from a disk store built once per (scenario, seed, scale, "
                             "years) in .local/simstore (minutes at 1.0; progress on stderr). "
                             "Replaces --dossiers; stores serve clean records (no --mess)")


def add_mess_argument(parser: argparse.ArgumentParser) -> None:
    """``--mess``: realistic problems in the served records, on at a low rate by default."""
    from govkpi.simulator.mess import DEFAULT_SPEC

    parser.add_argument("--mess", default=DEFAULT_SPEC,
                        help="shares of records served with realistic problems: repeat (served "
                             "twice), move (changed during the crawl), missing (optional keys "
                             "absent), malformed (bad values to quarantine); 'none' for clean "
                             "records")


def mess_option(parser: argparse.ArgumentParser, args):
    """The :class:`~govkpi.simulator.mess.Mess` of ``--mess`` (None when off; exits on
    errors)."""
    from govkpi.simulator.mess import Mess

    try:
        mess = Mess.parse(args.mess, seed=args.seed)
    except ValueError as exc:
        parser.error(str(exc))
    return mess if mess.active else None


def describe_mess(manifest) -> str:
    """One line for a banner: how many problems of each kind the view holds."""
    if not manifest:
        return "no injected mess"
    counts: dict[str, int] = defaultdict(int)
    for entry in manifest:
        counts[entry["kind"]] += 1
    return "injected mess: " + ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))


def world_and_faults(parser: argparse.ArgumentParser, args):
    """Build the one-stop world and the fault spec from the shared options (exits on errors)."""
    from govkpi.simulator.world import generate_world

    try:
        world = generate_world(seed=args.seed, dossiers=args.dossiers, years=args.years)
        faults = Faults.parse(args.faults, seed=args.seed) if args.faults else None
    except ValueError as exc:
        parser.error(str(exc))
    return world, faults
