"""The ARM / Network Watcher simulator's HTTP side: authentication, routing (case-insensitive, as ARM ids
are), the troubleshoot long-running operation, resource reads and lists, and injected errors.

Every answer mirrors what Azure sends; where Azure's behaviour is undocumented the choice lives in
scenarios.yaml (`undocumented_errors`), not here.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote

from aiohttp import web

from sandbox.arm_signals import ArmSignals
from sandbox.arm_state import ArmState, Operation, RecordedRequest
from sandbox.arm_wire import (
    ARM_AUDIENCES,
    NULL_BODY,
    FilterError,
    arm_error,
    compact,
    filter_matches,
    format_azure_time,
    generic_resource,
    parse_filter,
    pretty_crlf,
    target_json,
    watcher_json,
)
from sandbox.chaos import Chaos, arm_fault, chaos_middleware
from sandbox.identity import read_token
from sandbox.scenarios import (
    Catalogue,
    CatalogueTarget,
    InjectOn,
    SubscriptionSpec,
    Watcher,
    normalise_location,
)

SUB = r"/subscriptions/(?P<sub>[^/]+)"
RG = SUB + r"/resourceGroups/(?P<rg>[^/]+)"
NET = r"/providers/Microsoft\.Network"
WATCHER = RG + NET + r"/networkWatchers/(?P<nw>[^/]+)"

ACTIONS: Mapping[InjectOn, str] = {
    "start": "Microsoft.Network/networkWatchers/troubleshoot/action",
    "query": "Microsoft.Network/networkWatchers/queryTroubleshootResult/action",
    "poll": "Microsoft.Network/locations/operationResults/read",
    "get": "read",
}

DROP = web.Response(status=599)  # marker: abort the connection instead of answering


@dataclass
class ArmSettings:
    audiences: tuple[str, ...] = ARM_AUDIENCES
    page_size: int = 100  # resources per page of `GET /subscriptions/{sub}/resources`
    retry_after_override: float | None = None  # replaces every Retry-After value (0 in fast tests)
    one_per_subscription: bool = True
    # How a second start in a busy subscription is refused. Undocumented: the start call's documented errors
    # are 400/403/412/500, so the default is a 400 no client can recognise; `conflict_409` is the old guess.
    concurrent_refusal: Literal["bad_request_400", "conflict_409"] = "bad_request_400"
    # queryTroubleshootResult while the target's run is in progress: `accepted_202` is Microsoft's 2017 REST
    # reference; `last_result` is what recordings (taken when nothing was running) showed: 200 at once.
    query_while_running: Literal["accepted_202", "last_result"] = "accepted_202"
    final_location: bool = True  # the final 200 of a poll still carries Location (recorded)
    start_answer_seconds: float = 0.0  # how long the start POST takes to answer (real: ~20 s)


class _SafeDict(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fmt(template: str, **values: Any) -> str:
    return " ".join(template.split()).format_map(_SafeDict(values))


def _headers(write: bool) -> dict[str, str]:
    request_id = str(uuid.uuid4())
    kind = "writes" if write else "reads"
    return {
        "Cache-Control": "no-cache",
        "Pragma": "no-cache",
        "Expires": "-1",
        "x-ms-request-id": request_id,
        "x-ms-correlation-request-id": request_id,
        "x-ms-routing-request-id": f"WESTEUROPE:{datetime.now(UTC):%Y%m%dT%H%M%S}Z:{request_id}",
        f"x-ms-ratelimit-remaining-subscription-{kind}": "11999",
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
        "X-Content-Type-Options": "nosniff",
    }


def _json(
    status: int, body: bytes, *, write: bool = False, extra: Mapping[str, str] | None = None
) -> web.Response:
    headers = _headers(write) | dict(extra or {})
    return web.Response(
        status=status, body=body, content_type="application/json", charset="utf-8", headers=headers
    )


def _error(
    status: int, code: str, message: str, *, extra: Mapping[str, str] | None = None, **kw: Any
) -> web.Response:
    return _json(status, compact(arm_error(code, message, **kw)), extra=extra)


def _invalid_id(value: str, path: str) -> web.Response:
    return _error(
        400,
        "LinkedInvalidPropertyId",
        f"Property id '{value}' at path '{path}' is invalid. Expect fully qualified resource Id that start "
        "with '/subscriptions/{subscriptionId}' or '/providers/{resourceProviderNamespace}/'.",
    )


def _seconds(value: float) -> str:
    """Retry-After as ARM sends it: whole seconds (the SDK parses the 202's header as an int)."""
    return str(max(0, round(value)))


Handler = Callable[[web.Request, dict[str, str], Any, dict[str, Any]], Awaitable[web.Response]]


class ArmApp:
    """Builds the aiohttp application; `launch` runs an accepted operation to its end (the simulator)."""

    def __init__(
        self,
        catalogue: Catalogue,
        state: ArmState,
        settings: ArmSettings,
        launch: Callable[[Operation], None],
    ) -> None:
        self.catalogue = catalogue
        self.state = state
        self.settings = settings
        self.launch = launch
        get, post = "GET", "POST"
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = [
            (get, re.compile(SUB + r"/resources", re.I), self.list_resources),
            (get, re.compile(SUB + NET + r"/networkWatchers", re.I), self.list_watchers),
            (get, re.compile(RG + NET + r"/networkWatchers", re.I), self.list_watchers),
            (get, re.compile(WATCHER, re.I), self.get_watcher),
            (post, re.compile(WATCHER + r"/troubleshoot", re.I), self.start),
            (post, re.compile(WATCHER + r"/queryTroubleshootResult", re.I), self.query),
            (
                get,
                re.compile(RG + NET + r"/(?P<kind>virtualNetworkGateways|connections)", re.I),
                self.list_targets,
            ),
            (
                get,
                re.compile(RG + NET + r"/(?P<kind>virtualNetworkGateways|connections)/(?P<name>[^/]+)", re.I),
                self.get_target,
            ),
            (
                get,
                re.compile(SUB + NET + r"/locations/(?P<loc>[^/]+)/operationResults/(?P<op>[^/]+)", re.I),
                self.poll_location,
            ),
            (
                get,
                re.compile(SUB + NET + r"/locations/(?P<loc>[^/]+)/operations/(?P<op>[^/]+)", re.I),
                self.poll_async,
            ),
        ]
        # the quick signals of a first look (sandbox/arm_signals.py), tried before the routes above
        self.signals = ArmSignals(self)
        self.routes[:0] = self.signals.routes()

    def build(self, chaos: Callable[[], Chaos | None] = lambda: None) -> web.Application:
        """`chaos`: the random faults the chaos harness attaches (sandbox/chaos.py); none by default."""
        app = web.Application(
            client_max_size=4 * 1024 * 1024, middlewares=[chaos_middleware(chaos, arm_fault)]
        )
        app.router.add_get("/_sandbox/requests", self.sandbox_requests)
        app.router.add_get("/_sandbox/operations", self.sandbox_operations)
        app.router.add_post("/_sandbox/reset", self.sandbox_reset)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    # ---- sandbox introspection -------------------------------------------------------------------------

    async def sandbox_requests(self, request: web.Request) -> web.Response:
        return web.json_response([r.to_json() for r in self.state.requests])

    async def sandbox_operations(self, request: web.Request) -> web.Response:
        return web.json_response([op.to_json() for op in self.state.operations.values()])

    async def sandbox_reset(self, request: web.Request) -> web.Response:
        self.state.reset()
        return web.json_response({"reset": True})

    # ---- entry point -------------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers={k: v for k, v in request.headers.items() if k.lower() != "authorization"},
            body=body,
            at=self.state.clock.now(),
        )
        self.state.record(record)
        response = await self._answer(request, body)
        if response is DROP:
            if request.transport is not None:
                request.transport.abort()
            self.state.on_change()
            raise web.HTTPInternalServerError()  # never reaches the client: the socket is gone
        record.status = response.status
        self.state.on_change()
        return response

    async def _answer(self, request: web.Request, body: Any) -> web.Response:
        claims_or_error = self._authenticate(request)
        if isinstance(claims_or_error, web.Response):
            return claims_or_error
        claims = claims_or_error
        if not request.query.get("api-version"):
            return _error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        path = request.path.rstrip("/")
        sub_match = re.match(SUB, path, re.I)
        if sub_match is None:
            return _error(404, "NotFound", "The requested resource does not exist.")
        subscription = self.catalogue.subscription(sub_match["sub"])
        if subscription is None:
            return _error(
                404, "SubscriptionNotFound", f"The subscription '{sub_match['sub']}' could not be found."
            )
        rg_match = re.match(RG, path, re.I)
        if rg_match is not None and subscription.resource_group(rg_match["rg"]) is None:
            return _error(
                404, "ResourceGroupNotFound", f"Resource group '{rg_match['rg']}' could not be found."
            )
        for method, pattern, handler in self.routes:
            m = pattern.fullmatch(path)
            if m is not None and method == request.method:
                return await handler(request, m.groupdict(), body, claims)
        if re.search(NET + r"/(?P<type>[^/]+)", path, re.I):
            kind = re.search(NET + r"/(?P<type>[^/]+)", path, re.I)
            assert kind is not None
            return _error(
                404,
                "InvalidResourceType",
                f"The resource type '{kind['type']}' could not be found in the namespace 'Microsoft.Network' "
                f"for api version '{request.query['api-version']}'.",
            )
        return _error(404, "NotFound", "The requested resource does not exist.")

    # ---- authentication ----------------------------------------------------------------------------------

    def _unauthorized(self, code: str, message: str, description: str) -> web.Response:
        challenge = (
            f'Bearer authorization_uri="https://login.microsoftonline.com/{self.catalogue.tenant_id}", '
            f'error="invalid_token", error_description="{description}"'
        )
        return _error(401, code, message, extra={"WWW-Authenticate": challenge})

    def _authenticate(self, request: web.Request) -> dict[str, Any] | web.Response:
        header = request.headers.get("Authorization")
        if header is None:
            return self._unauthorized(
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
                "The authentication failed because of missing 'Authorization' header.",
            )
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token:
            return self._unauthorized(
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is provided in an invalid format.",
                "The authentication failed because of invalid 'Authorization' header format.",
            )
        claims = read_token(token)
        if claims is None:
            return self._unauthorized(
                "InvalidAuthenticationToken", "The access token is invalid.", "The access token is invalid."
            )
        aud = str(claims.get("aud", ""))
        if aud not in self.settings.audiences:
            allowed = ",".join(f"'{a}'" for a in self.settings.audiences)
            return self._unauthorized(
                "InvalidAuthenticationTokenAudience",
                f"The access token has been obtained for wrong audience or resource '{aud}'. "
                f"It should exactly match with one of the allowed audiences {allowed}.",
                "The access token audience is invalid.",
            )
        now = time.time()
        exp = float(claims.get("exp", 0))
        if exp <= now or float(claims.get("nbf", 0)) > now + 300:
            fmt = "%m/%d/%Y %H:%M:%S"
            return self._unauthorized(
                "ExpiredAuthenticationToken",
                f"The access token expiry UTC time '{datetime.fromtimestamp(exp, UTC):{fmt}}' is earlier "
                f"than current UTC time '{datetime.fromtimestamp(now, UTC):{fmt}}'.",
                "The access token has expired.",
            )
        tenant = self.catalogue.tenant_id
        if claims.get("tid") != tenant:
            return self._unauthorized(
                "InvalidAuthenticationTokenTenant",
                f"The access token is from the wrong issuer '{claims.get('iss')}'. It must match the tenant "
                f"'https://sts.windows.net/{tenant}/' associated with this subscription. Please use the "
                f"authority (URL) 'https://login.windows.net/{tenant}' to get the token.",
                "The access token is from the wrong issuer.",
            )
        return claims

    # ---- helpers -----------------------------------------------------------------------------------------

    def _undocumented(self, key: str, **values: Any) -> web.Response:
        spec = self.catalogue.undocumented_errors[key]
        return _error(spec.status, spec.code, _fmt(spec.message, **values))

    def _retry_after(self, value: float | None) -> dict[str, str]:
        if value is None:
            return {}
        override = self.settings.retry_after_override
        return {"Retry-After": _seconds(value if override is None else override)}

    def _injected(
        self,
        target: CatalogueTarget,
        when: InjectOn,
        claims: dict[str, Any],
        scope: str,
        *,
        begin: Callable[[], Operation] | None = None,
        location_of: Callable[[Operation | None], str] | None = None,
    ) -> web.Response | None:
        """The injected answer due now, if any. For a start, `begin` starts the run when the injection says
        the service began one before failing, and `location_of` gives the Location header it carries."""
        inj = self.state.take_injection(target, when)
        if inj is None:
            return None
        if inj.drop is not None:
            return DROP
        op = begin() if inj.began_run and begin is not None else None
        assert inj.status is not None
        action = ACTIONS[when]
        if when == "get":
            action = f"{target.resource_type}/read"
        message = _fmt(
            inj.message or "The request failed.",
            oid=claims.get("oid", ""),
            action=action,
            scope=scope,
            subscription=target.subscription_id,
            target_id=target.id,
        )
        extra = self._retry_after(inj.retry_after)
        if inj.location and location_of is not None:
            extra["Location"] = location_of(op)
        if inj.status == 401:
            return self._unauthorized(inj.code or "InvalidAuthenticationToken", message, message)
        return _error(inj.status, inj.code or "Error", message, extra=extra)

    def _not_found(self, type_: str, name: str, rg: str) -> web.Response:
        return _error(
            404,
            "ResourceNotFound",
            f"The Resource '{type_}/{name}' under resource group '{rg}' was not found. "
            "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
        )

    def _watcher(self, p: dict[str, str]) -> Watcher | None:
        return next(
            (
                w
                for w in self.catalogue.watchers(p["sub"])
                if w.name.lower() == p["nw"].lower() and w.spec.resource_group.lower() == p["rg"].lower()
            ),
            None,
        )

    def _sub(self, p: dict[str, str]) -> SubscriptionSpec:
        sub = self.catalogue.subscription(p["sub"])
        assert sub is not None  # checked before routing
        return sub

    @staticmethod
    def _base(request: web.Request) -> str:
        return f"{request.scheme}://{request.host}"

    # ---- reads -------------------------------------------------------------------------------------------

    def _all_resources(self, sub: SubscriptionSpec) -> list[dict[str, Any]]:
        found = [watcher_json(w) for w in self.catalogue.watchers(sub.id)]
        found += [target_json(t) for t in self.catalogue.targets() if t.subscription_id == sub.id]
        return found

    async def list_resources(
        self, request: web.Request, p: dict[str, str], body: Any, claims: dict[str, Any]
    ) -> web.Response:
        sub = self._sub(p)
        text = request.query.get("$filter")
        resources = [generic_resource(r) for r in self._all_resources(sub)]
        if text:
            try:
                flt = parse_filter(text)
            except FilterError as exc:
                return _error(400, "InvalidFilterInQueryString", str(exc))
            resources = [r for r in resources if filter_matches(flt, r)]
        page = self.settings.page_size
        if request.query.get("$top", "").isdigit():
            page = max(1, int(request.query["$top"]))
        start = 0
        token = request.query.get("$skiptoken")
        if token:
            try:
                start = int(base64.urlsafe_b64decode(token.encode()).decode())
            except ValueError:
                return _error(400, "InvalidSkipToken", "The provided skip token is not valid.")
        out: dict[str, Any] = {"value": resources[start : start + page]}
        if start + page < len(resources):
            params = [f"api-version={quote(request.query['api-version'])}"]
            if text:
                params.insert(0, f"%24filter={quote(text)}")
            if "$top" in request.query:
                params.append(f"%24top={page}")
            params.append(f"%24skiptoken={base64.urlsafe_b64encode(str(start + page).encode()).decode()}")
            out["nextLink"] = f"{self._base(request)}/subscriptions/{sub.id}/resources?{'&'.join(params)}"
        return _json(200, compact(out))

    async def list_watchers(
        self, request: web.Request, p: dict[str, str], body: Any, claims: dict[str, Any]
    ) -> web.Response:
        watchers = self.catalogue.watchers(p["sub"])
        if "rg" in p and p["rg"] is not None:
            watchers = tuple(w for w in watchers if w.spec.resource_group.lower() == p["rg"].lower())
        return _json(200, pretty_crlf({"value": [watcher_json(w) for w in watchers]}))

    async def get_watcher(
        self, request: web.Request, p: dict[str, str], body: Any, claims: dict[str, Any]
    ) -> web.Response:
        watcher = self._watcher(p)
        if watcher is None:
            return self._not_found("Microsoft.Network/networkWatchers", p["nw"], p["rg"])
        return _json(200, pretty_crlf(watcher_json(watcher)))

    def _targets_of(self, p: dict[str, str]) -> list[CatalogueTarget]:
        kind = "gateway" if p["kind"].lower() == "virtualnetworkgateways" else "connection"
        return [
            t
            for t in self.catalogue.targets()
            if t.kind == kind
            and t.subscription_id.lower() == p["sub"].lower()
            and t.resource_group.lower() == p["rg"].lower()
        ]

    async def list_targets(
        self, request: web.Request, p: dict[str, str], body: Any, claims: dict[str, Any]
    ) -> web.Response:
        listed = [self.signals.decorate(t, target_json(t)) for t in self._targets_of(p)]
        return _json(200, pretty_crlf({"value": listed}))

    async def get_target(
        self, request: web.Request, p: dict[str, str], body: Any, claims: dict[str, Any]
    ) -> web.Response:
        target = next((t for t in self._targets_of(p) if t.name.lower() == p["name"].lower()), None)
        if target is None:
            type_ = (
                "virtualNetworkGateways" if p["kind"].lower() == "virtualnetworkgateways" else "connections"
            )
            return self._not_found(f"Microsoft.Network/{type_}", p["name"], p["rg"])
        injected = self._injected(target, "get", claims, target.id)
        if injected is not None:
            return injected
        return _json(200, pretty_crlf(self.signals.decorate(target, target_json(target))))

    # ---- troubleshoot ------------------------------------------------------------------------------------

    def _target_of(self, body: Any, watcher: Watcher) -> CatalogueTarget | web.Response:
        target_id = body.get("targetResourceId") if isinstance(body, dict) else None
        if not isinstance(target_id, str) or not target_id:
            return _error(
                400,
                "InvalidRequestFormat",
                "Cannot parse the request.",
                details=[
                    {
                        "code": "MissingJsonProperty",
                        "message": "Required property 'targetResourceId' not found in JSON. Path ''.",
                    }
                ],
            )
        parsed = re.fullmatch(
            r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/(?P<type>[^/]+/[^/]+)/(?P<name>[^/]+)/?",
            target_id,
            re.I,
        )
        if parsed is None:
            return _invalid_id(target_id, "targetResourceId")
        if parsed["sub"].lower() != watcher.subscription_id.lower():
            return self._undocumented("other_subscription", target_id=target_id)
        target = self.catalogue.target_by_id(target_id)
        if target is None:
            return self._not_found(parsed["type"], parsed["name"], parsed["rg"])
        return target

    async def start(
        self, request: web.Request, p: dict[str, str], body: Any, claims: dict[str, Any]
    ) -> web.Response:
        """The start POST; it answers only after `start_answer_seconds` (the run begins on arrival)."""
        answer = await self._start(request, p, body, claims)
        if self.settings.start_answer_seconds > 0:
            await asyncio.sleep(self.settings.start_answer_seconds)
        return answer

    async def _start(
        self, request: web.Request, p: dict[str, str], body: Any, claims: dict[str, Any]
    ) -> web.Response:
        watcher = self._watcher(p)
        if watcher is None:
            return self._not_found("Microsoft.Network/networkWatchers", p["nw"], p["rg"])
        if not isinstance(body, dict):
            return _error(400, "InvalidRequestFormat", "Cannot parse the request.")
        target = self._target_of(body, watcher)
        if isinstance(target, web.Response):
            return target
        props = body.get("properties") if isinstance(body.get("properties"), dict) else {}
        assert isinstance(props, dict)
        storage_path = str(props.get("storagePath") or "")

        def begin() -> Operation:
            return self._begin(request, watcher, target, storage_path)

        def location_of(op: Operation | None) -> str:
            if op is not None:
                return self._location(request, op)
            phantom = f"{watcher.subscription_id}/providers/Microsoft.Network/locations"
            return (
                f"{self._base(request)}/subscriptions/{phantom}/{normalise_location(watcher.location)}"
                f"/operationResults/{uuid.uuid4()}?api-version={request.query['api-version']}"
            )

        injected = self._injected(target, "start", claims, watcher.id, begin=begin, location_of=location_of)
        drop = injected is DROP
        if injected is not None and not drop:
            return injected
        missing = [
            k for k in ("storageId", "storagePath") if not isinstance(props.get(k), str) or not props.get(k)
        ]
        if missing:
            return _error(
                400,
                "InvalidRequestFormat",
                "Cannot parse the request.",
                details=[
                    {
                        "code": "MissingJsonProperty",
                        "message": f"Required property '{k}' not found in JSON. Path 'properties'.",
                    }
                    for k in missing
                ],
            )
        if not re.fullmatch(
            r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Storage/storageAccounts/[^/]+",
            props["storageId"],
            re.I,
        ):
            return _invalid_id(props["storageId"], "properties.storageId")
        if not storage_path.lower().startswith("https://"):
            return _error(
                400,
                "InvalidStoragePath",
                f"Storage path '{props['storagePath']}' is not a valid blob container URL.",
            )
        reason = target.unsupported_reason()
        if reason is not None:
            return self._undocumented("unsupported_target", target_id=target.id, reason=reason)
        if normalise_location(target.location) != normalise_location(watcher.location):
            return self._undocumented(
                "region_mismatch",
                target_id=target.id,
                target_location=target.location,
                watcher=watcher.name,
                watcher_location=watcher.location,
            )
        if self.settings.one_per_subscription and self.state.running(watcher.subscription_id) is not None:
            self.state.rejected_starts.append((watcher.subscription_id, self.state.clock.now()))
            key = (
                "concurrent_operation"
                if self.settings.concurrent_refusal == "conflict_409"
                else "concurrent_operation_400"
            )
            return self._undocumented(key, subscription=watcher.subscription_id)
        op = begin()
        scenario = target.scenario
        headers = {"Location": self._location(request, op)} | self._retry_after(scenario.retry_after)
        if scenario.lro == "azure-async-operation":
            headers["Azure-AsyncOperation"] = self._async_url(request, op)
            headers |= self._retry_after(scenario.retry_after or 10)
        if drop:
            return DROP
        # The start's x-ms-request-id is the operation id (recorded).
        return _json(202, NULL_BODY, write=True, extra=headers | {"x-ms-request-id": op.id})

    def _begin(
        self, request: web.Request, watcher: Watcher, target: CatalogueTarget, storage_path: str
    ) -> Operation:
        """Start a run: from here on the subscription is busy until the run's result is in."""
        now = self.state.clock.now()
        op_id = str(uuid.uuid4())
        scenario = target.scenario
        op = Operation(
            id=op_id,
            subscription_id=watcher.subscription_id,
            target=target,
            watcher_id=watcher.id,
            region=normalise_location(watcher.location),
            api_version=request.query["api-version"],
            storage_path=storage_path,
            accepted_at=now,
            start_time=format_azure_time(
                now + timedelta(seconds=scenario.start_skew_seconds), scenario.start_digits, salt=op_id
            ),
        )
        self.state.add(op)
        self.launch(op)
        return op

    def _location(self, request: web.Request, op: Operation) -> str:
        return (
            f"{self._base(request)}/subscriptions/{op.subscription_id}/providers/Microsoft.Network/locations/"
            f"{op.region}/operationResults/{op.id}?api-version={op.api_version}"
        )

    def _async_url(self, request: web.Request, op: Operation) -> str:
        return (
            f"{self._base(request)}/subscriptions/{op.subscription_id}/providers/Microsoft.Network/locations/"
            f"{op.region}/operations/{op.id}?api-version={op.api_version}"
        )

    def _operation(self, p: dict[str, str]) -> Operation | web.Response:
        op = self.state.operation(p["op"])
        if (
            op is None
            or op.subscription_id.lower() != p["sub"].lower()
            or op.region != normalise_location(p["loc"])
        ):
            return self._undocumented("unknown_operation", operation_id=p["op"])
        return op

    def _polled(
        self, request: web.Request, p: dict[str, str], claims: dict[str, Any]
    ) -> Operation | web.Response:
        """The operation a poll names, or the answer to give instead (unknown operation, injected error)."""
        op = self._operation(p)
        if isinstance(op, web.Response):
            return op
        injected = self._injected(op.target, "poll", claims, request.path)
        return op if injected is None else injected

    async def poll_location(
        self, request: web.Request, p: dict[str, str], body: Any, claims: dict[str, Any]
    ) -> web.Response:
        op = self._polled(request, p, claims)
        if isinstance(op, web.Response):
            return op
        if not op.finished:
            extra = {"Location": self._location(request, op)} | self._retry_after(
                op.target.scenario.retry_after
            )
            return _json(202, NULL_BODY, extra=extra)
        final = {"Location": self._location(request, op)} if self.settings.final_location else {}
        return _json(200, NULL_BODY if op.result is None else pretty_crlf(op.result), extra=final)

    async def poll_async(
        self, request: web.Request, p: dict[str, str], body: Any, claims: dict[str, Any]
    ) -> web.Response:
        op = self._polled(request, p, claims)
        if isinstance(op, web.Response):
            return op
        if not op.finished:
            return _json(
                200,
                pretty_crlf({"status": "InProgress"}),
                extra=self._retry_after(op.target.scenario.retry_after),
            )
        return _json(200, pretty_crlf({"status": "Succeeded"}))

    async def query(
        self, request: web.Request, p: dict[str, str], body: Any, claims: dict[str, Any]
    ) -> web.Response:
        watcher = self._watcher(p)
        if watcher is None:
            return self._not_found("Microsoft.Network/networkWatchers", p["nw"], p["rg"])
        target = self._target_of(body, watcher)
        if isinstance(target, web.Response):
            return target
        injected = self._injected(target, "query", claims, watcher.id)
        if injected is not None and injected is not DROP:
            return injected
        running = self.state.running_on(target.id)
        if running is not None and self.settings.query_while_running == "accepted_202":
            # Microsoft's REST reference: 202 while a troubleshoot of the target is in progress.
            return _json(202, NULL_BODY, write=True, extra=self._retry_after(target.scenario.retry_after))
        last = self.state.last_result(target.id)
        if last is None:
            return self._undocumented("no_previous_result", target_id=target.id)
        return _json(200, NULL_BODY if last.result is None else pretty_crlf(last.result), write=True)
