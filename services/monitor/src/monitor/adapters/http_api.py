"""JSON over HTTP for analysts' tools, the CSV/XES downloads, and the dashboard page.

A deliberately small HTTP/1.1 server on asyncio streams (GET only, one request per connection);
why not a web framework: docs/adr/0011-monitor-hand-written-http-server.md.

Authentication: every ``/api/`` and ``/export/`` request needs ``Authorization: Bearer <token>``
of an identity with the ANALYST role, checked against the same identity file as gRPC (401
without valid credentials, 403 for another role). Tokens are accepted only in that header,
never in a URL, so they do not end up in browser history, proxies or logs.

The dashboard's files (``/``, ``/dashboard.js``, ``/dashboard.css``) hold no data and are served
without a token. The page takes the token from the URL fragment (``/#token=…``: a fragment never
leaves the browser) or asks for it in a login form, keeps it in ``sessionStorage`` for the tab,
and sends it in the header of its own API calls. A strict Content-Security-Policy allows only the
monitor's own script, style and API.

| path | what |
|---|---|
| ``GET /api/lead-times?as_of=&known_by=&by=&interval=&min_group_size=`` | lead-time rows |
| ``GET /api/figures?as_of=&known_by=&years=&min_group_size=`` | chain figures per year |
| ``GET /api/trend?as_of=&known_by=&interval=T2-T3&min_group_size=`` | KM median per year |
| ``GET /api/survival?as_of=&interval=&by=start_year&min_group_size=`` | KM curves, bands |
| ``GET /api/residence?as_of=&known_by=&min_group_size=`` | the residence panel |
| ``GET /api/dark-number?as_of=&known_by=&years=&criterion=AIC&min_group_size=`` | MSE |
| ``GET /api/status`` | facts held, consuming, rebuilding, last snapshot |
| ``GET /export/lead-times.csv?…&dialect=nl`` | the lead-time table as CSV (same parameters) |
| ``GET /export/lead-times.xlsx?…`` | the same as an XLSX workbook |
| ``GET /export/figures.csv?…&dialect=nl`` | chain figures as CSV |
| ``GET /export/units.csv?as_of=&known_by=&pseudonymise=&dialect=nl`` | per victim and case |
| ``GET /export/units.xlsx?…``, ``/export/units.parquet?…`` | the same as XLSX, Parquet |
| ``GET /export/event-log.xes?as_of=&pseudonymise=`` | the event log as XES (``.csv`` as CSV) |
| ``GET /export/event-log.jsonocel?…`` | the event log as OCEL 2.0 (JSON) |
| ``GET /export/residence-log.xes?…`` | the residence facts, an XES log of their own |

``by`` is one dimension or two joined by a comma (``cohort,minor``); ``interval`` and ``years``
are comma lists; ``min_group_size`` asks for another small-group threshold, never below the
configured floor (docs/domain.md#lead-times); every JSON answer states the one it used.
| ``GET /healthz`` | ``ok`` (no token) |
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ketenzicht_common.auth import IdentityRegistry, authenticate, authorise
from ketenzicht_common.errors import (
    CommandRejected,
    InvalidCommand,
    PermissionDenied,
    Unauthenticated,
)
from monitor.adapters.consumer import ChainConsumer
from monitor.adapters.roles import ANALYSIS
from monitor.application.live import LiveProjection
from monitor.application.queries import (
    DIMENSION_NAMES,
    INTERVAL_NAMES,
    EventLogFormat,
    Export,
    MonitorQueries,
    TableFormat,
)
from monitor.domain import AsOf
from monitor.domain.tables import CsvDialect
from monitor.domain.trends import SURVIVAL_DAYS

log = logging.getLogger(__name__)

_MAX_HEADER_LINES = 100
_READ_TIMEOUT_SECONDS = 15.0
_STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
    "/dashboard.css": ("dashboard.css", "text/css; charset=utf-8"),
}
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


@dataclass
class Response:
    status: HTTPStatus
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def _json(status: HTTPStatus, document: object) -> Response:
    body = json.dumps(document, separators=(",", ":"), allow_nan=False).encode()
    return Response(status, body, "application/json")


def _error(status: HTTPStatus, message: str, **extra: Any) -> Response:
    return _json(status, {"error": message, **extra})


def _download(export: Export) -> Response:
    return Response(
        HTTPStatus.OK,
        export.data,
        f"{export.media_type}; charset=utf-8"
        if isinstance(export.content, str)
        else export.media_type,
        {"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )


class Query:
    """The query string of one request."""

    def __init__(self, raw: str) -> None:
        self._values = parse_qs(raw, keep_blank_values=True, max_num_fields=50)

    def get(self, name: str) -> str:
        values = self._values.get(name)
        return values[-1].strip() if values else ""

    def items(self, name: str) -> list[str]:
        return [
            part.strip()
            for value in self._values.get(name, [])
            for part in value.split(",")
            if part.strip()
        ]

    def flag(self, name: str) -> bool:
        return self.get(name).lower() in ("1", "true", "yes", "on")

    def group_size(self) -> int | None:
        text = self.get("min_group_size")
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            raise InvalidCommand.of("min_group_size", "a whole number") from None

    def csv_format(self) -> TableFormat:
        dialect = self.get("dialect")
        if dialect not in ("", "standard", "nl"):
            raise InvalidCommand.of("dialect", "standard or nl")
        return TableFormat.CSV_NL if dialect == "nl" else TableFormat.CSV

    def years(self) -> list[int]:
        try:
            return [int(y) for y in self.items("years")]
        except ValueError:
            raise InvalidCommand.of("years", "a comma-separated list of years") from None


def _as_dict(value: Any) -> Any:
    return dataclasses.asdict(value)


class HttpApi:
    def __init__(
        self,
        queries: MonitorQueries,
        live: LiveProjection,
        consumer: ChainConsumer,
        registry: IdentityRegistry,
        address: str,
        *,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.queries = queries
        self.live = live
        self.consumer = consumer
        self.registry = registry
        self.address = address
        self.tls = tls
        self._socket: socket.socket | None = None
        self._routes: dict[str, Callable[[Query], Awaitable[Response]]] = {
            "/api/lead-times": self._lead_times,
            "/api/figures": self._figures,
            "/api/status": self._status,
            "/api/trend": self._trend,
            "/api/survival": self._survival,
            "/api/residence": self._residence,
            "/api/dark-number": self._dark_number,
            "/export/lead-times.csv": self._lead_times_csv,
            "/export/lead-times.xlsx": self._lead_times_xlsx,
            "/export/figures.csv": self._figures_csv,
            "/export/units.csv": lambda q: self._units(q, q.csv_format()),
            "/export/units.xlsx": lambda q: self._units(q, TableFormat.XLSX),
            "/export/units.parquet": lambda q: self._units(q, TableFormat.PARQUET),
            "/export/event-log.xes": self._event_log_xes,
            "/export/event-log.csv": self._event_log_csv,
            "/export/event-log.jsonocel": lambda q: self._event_log(q, EventLogFormat.OCEL),
            "/export/residence-log.xes": lambda q: self._event_log(q, EventLogFormat.RESIDENCE_XES),
        }

    def bind(self) -> int:
        """Bind the listening socket now (before the service reports READY); returns the port."""
        host, _, port = self.address.rpartition(":")
        family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), int(port)))
        sock.listen(128)
        sock.setblocking(False)
        self._socket = sock
        bound = int(sock.getsockname()[1])
        log.info("monitor HTTP (API, exports, dashboard) on %s:%d", host, bound)
        return bound

    async def serve(self) -> None:
        if self._socket is None:
            self.bind()
        server = await asyncio.start_server(
            self._connection, sock=self._socket, ssl=self.tls, limit=16 * 1024
        )
        async with server:
            await server.serve_forever()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                async with asyncio.timeout(_READ_TIMEOUT_SECONDS):  # see Relay._follow
                    method, target, headers = await self._read_request(reader)
            except (ValueError, asyncio.LimitOverrunError):
                response = _error(HTTPStatus.BAD_REQUEST, "malformed request")
                method = "GET"
            else:
                response = await self.respond(method, target, headers)
            await self._write(writer, response, head_only=method == "HEAD")
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    @staticmethod
    async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str]]:
        request_line = (await reader.readuntil(b"\n")).decode("latin-1").strip()
        parts = request_line.split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise ValueError("bad request line")
        headers: dict[str, str] = {}
        for _ in range(_MAX_HEADER_LINES):
            line = (await reader.readuntil(b"\n")).decode("latin-1").rstrip("\r\n")
            if not line:
                return parts[0], parts[1], headers
            name, colon, value = line.partition(":")
            if not colon:
                raise ValueError("bad header line")
            headers[name.strip().lower()] = value.strip()
        raise ValueError("too many header lines")

    @staticmethod
    async def _write(
        writer: asyncio.StreamWriter, response: Response, *, head_only: bool = False
    ) -> None:
        headers = {
            "Content-Type": response.content_type,
            "Content-Length": str(len(response.body)),
            "Cache-Control": "no-store",
            "Connection": "close",
            **_SECURITY_HEADERS,
            **response.headers,
        }
        head = (
            f"HTTP/1.1 {response.status.value} {response.status.phrase}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            + "\r\n"
        )
        writer.write(head.encode("latin-1"))
        if not head_only:
            writer.write(response.body)
        await writer.drain()

    async def respond(self, method: str, target: str, headers: Mapping[str, str]) -> Response:
        """The response to one request (the routing and the one error table of HTTP)."""
        if method not in ("GET", "HEAD"):
            return Response(
                HTTPStatus.METHOD_NOT_ALLOWED, b"", "text/plain", {"Allow": "GET, HEAD"}
            )
        url = urlsplit(target)
        path = url.path
        if path == "/healthz":
            return Response(HTTPStatus.OK, b"ok\n", "text/plain; charset=utf-8")
        if path in _STATIC:
            name, content_type = _STATIC[path]
            body = resources.files("monitor.adapters").joinpath("dashboard", name).read_bytes()
            return Response(HTTPStatus.OK, body, content_type)
        route = self._routes.get(path)
        if route is None:
            return _error(HTTPStatus.NOT_FOUND, "no such resource")
        try:
            identity = authenticate(
                self.registry, [("authorization", headers.get("authorization", ""))]
            )
            authorise(identity, ANALYSIS, "the monitor's figures")
            return await route(Query(url.query))
        except Unauthenticated as refused:
            response = _error(HTTPStatus.UNAUTHORIZED, refused.message)
            response.headers["WWW-Authenticate"] = 'Bearer realm="ketenzicht-monitor"'
            return response
        except PermissionDenied as refused:
            return _error(HTTPStatus.FORBIDDEN, refused.message)
        except InvalidCommand as refused:
            return _error(
                HTTPStatus.BAD_REQUEST,
                refused.message,
                fields={v.field: v.description for v in refused.violations},
            )
        except CommandRejected as refused:
            return _error(HTTPStatus.CONFLICT, refused.message)
        except Exception:
            log.exception("HTTP %s failed", path)
            return _error(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error")

    # Routes

    def _as_of(self, query: Query) -> AsOf:
        return self.queries.as_of(query.get("as_of"), query.get("known_by"))

    @staticmethod
    def _cut(as_of: AsOf) -> dict[str, str]:
        return {"as_of": as_of.on.isoformat(), "known_by": as_of.known_by.isoformat()}

    async def _lead_times(self, query: Query) -> Response:
        as_of = self._as_of(query)
        table = await self.queries.lead_times(
            as_of, query.get("by"), query.items("interval"), min_group_size=query.group_size()
        )
        return _json(
            HTTPStatus.OK,
            {
                **self._cut(as_of),
                "min_group_size": table.min_group_size,
                "dimensions": list(DIMENSION_NAMES),
                "intervals": list(INTERVAL_NAMES),
                "rows": [_as_dict(r) for r in table.rows],
            },
        )

    async def _figures(self, query: Query) -> Response:
        as_of = self._as_of(query)
        figures = await self.queries.figures(
            as_of, query.years(), min_group_size=query.group_size()
        )
        return _json(
            HTTPStatus.OK,
            {
                **self._cut(as_of),
                "min_group_size": figures.min_group_size,
                "years": [_as_dict(y) for y in figures.years],
            },
        )

    async def _trend(self, query: Query) -> Response:
        as_of = self._as_of(query)
        trend = await self.queries.trend(
            as_of, query.get("interval"), min_group_size=query.group_size()
        )
        return _json(
            HTTPStatus.OK,
            {
                **self._cut(as_of),
                "interval": trend.interval,
                "min_group_size": trend.min_group_size,
                "years": [_as_dict(y) for y in trend.years],
            },
        )

    async def _dark_number(self, query: Query) -> Response:
        as_of = self._as_of(query)
        dark = await self.queries.dark_number(
            as_of, query.years(), query.get("criterion"), min_group_size=query.group_size()
        )
        return _json(
            HTTPStatus.OK,
            {
                **self._cut(as_of),
                "criterion": dark.criterion,
                "min_group_size": dark.min_group_size,
                "years": [_as_dict(y) for y in dark.years],
            },
        )

    async def _survival(self, query: Query) -> Response:
        as_of = self._as_of(query)
        survival = await self.queries.survival(
            as_of, query.get("interval"), query.get("by"), min_group_size=query.group_size()
        )
        return _json(
            HTTPStatus.OK,
            {
                **self._cut(as_of),
                "interval": survival.interval,
                "by": survival.by,
                "min_group_size": survival.min_group_size,
                "days": list(SURVIVAL_DAYS),
                "curves": [_as_dict(c) for c in survival.curves],
            },
        )

    async def _residence(self, query: Query) -> Response:
        as_of = self._as_of(query)
        residence = await self.queries.residence(as_of, min_group_size=query.group_size())
        return _json(
            HTTPStatus.OK,
            {
                **self._cut(as_of),
                "min_group_size": residence.min_group_size,
                "rows": [_as_dict(r) for r in residence.panel.rows],
                "open_indications": [_as_dict(o) for o in residence.panel.open_indications],
            },
        )

    async def _status(self, query: Query) -> Response:
        last = self.live.last_commit_at
        return _json(
            HTTPStatus.OK,
            {
                "facts": len(self.live),
                "consuming": self.consumer.consuming,
                "rebuilding": self.live.rebuilding,
                # The name predates the fact database: now the last commit of facts to it.
                "last_snapshot_at": last.isoformat() if last else None,
                "streams": list(self.consumer.services),
            },
        )

    async def _lead_times_csv(self, query: Query) -> Response:
        return await self._lead_times_file(query, query.csv_format())

    async def _lead_times_xlsx(self, query: Query) -> Response:
        return await self._lead_times_file(query, TableFormat.XLSX)

    async def _lead_times_file(self, query: Query, form: TableFormat) -> Response:
        return _download(
            await self.queries.lead_times_export(
                self._as_of(query),
                query.get("by"),
                query.items("interval"),
                form,
                min_group_size=query.group_size(),
            )
        )

    async def _figures_csv(self, query: Query) -> Response:
        return _download(
            await self.queries.figures_export(
                self._as_of(query),
                query.years(),
                min_group_size=query.group_size(),
                dialect=CsvDialect.DUTCH
                if query.csv_format() is TableFormat.CSV_NL
                else CsvDialect.STANDARD,
            )
        )

    async def _units(self, query: Query, form: TableFormat) -> Response:
        return _download(
            await self.queries.units_export(
                self._as_of(query), form, pseudonymise=query.flag("pseudonymise")
            )
        )

    async def _event_log(self, query: Query, form: EventLogFormat) -> Response:
        return _download(
            await self.queries.event_log(
                self._as_of(query), form, pseudonymise=query.flag("pseudonymise")
            )
        )

    async def _event_log_xes(self, query: Query) -> Response:
        return _download(
            await self.queries.event_log(
                self._as_of(query), EventLogFormat.XES, pseudonymise=query.flag("pseudonymise")
            )
        )

    async def _event_log_csv(self, query: Query) -> Response:
        return _download(
            await self.queries.event_log(
                self._as_of(query), EventLogFormat.CSV, pseudonymise=query.flag("pseudonymise")
            )
        )


def server_tls(certificate: str, private_key: str) -> ssl.SSLContext:
    """HTTPS with the service's own certificate; callers authenticate by bearer token."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certificate, private_key)
    return context
