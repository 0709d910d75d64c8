"""HTTP front of the stand-in: the core/v1 REST API subset, strictly.

Routes (all under ``/api/v1``): ``namespaces``, ``nodes`` (read-only: the
autoscaler owns them), and namespaced ``pods``, ``persistentvolumeclaims``,
``services``, ``secrets``, ``configmaps`` and ``events``; verbs get, list,
watch, create, replace (PUT), patch, delete.  ``/apis/events.k8s.io/v1`` serves the same
events read-only (events_api.py).  Anything else - an unknown path,
subresource, verb or query parameter - is answered with a Kubernetes
``Status`` error (400/404/405/415) instead of being accepted silently.
"""

from __future__ import annotations

import asyncio
import json
import time

from tornado.iostream import StreamClosedError
from tornado.web import RequestHandler

from . import admission, priority
from .authz import authorize, request_verb
from .errors import ApiError, bad_request
from .patch import apply_patch
from .selectors import FieldSelector, LabelSelector
from .store import RESOURCES
from .validation import K8S_VERSION, validate_object, validate_update

# "timeout" is the server-wide request timeout every verb accepts (kubectl sends it); it is ignored
WRITE_PARAMS = {"pretty", "fieldManager", "fieldValidation", "dryRun", "timeout"}
PARAMS = {
    "list": {"pretty", "labelSelector", "fieldSelector", "resourceVersion", "resourceVersionMatch",
             "timeoutSeconds", "watch", "allowWatchBookmarks", "limit", "continue", "sendInitialEvents", "timeout"},
    "get": {"pretty", "resourceVersion", "timeout"},
    "create": WRITE_PARAMS,
    "update": WRITE_PARAMS,
    "patch": WRITE_PARAMS | {"force"},
    "delete": {"pretty", "gracePeriodSeconds", "propagationPolicy", "orphanDependents", "dryRun", "timeout"},
}


_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def parse_bool(name: str, value: str | None) -> bool:
    """Booleans as Go's strconv.ParseBool reads them (kubernetes_asyncio sends "True")."""
    if value is None or value in _FALSE:
        return False
    if value in _TRUE:
        return True
    raise bad_request(f"invalid value for {name}: {value!r}")


def int_param(args: dict, name: str, minimum: int = 0) -> int | None:
    """An integer query parameter, or None when absent; anything else is a 400."""
    if name not in args or args[name] == "":
        return None
    try:
        value = int(args[name])
    except ValueError:
        raise bad_request(f"invalid value for {name}: {args[name]!r} is not an integer")
    if value < minimum:
        raise bad_request(f"invalid value for {name}: must be >= {minimum}")
    return value


class StandInHandler(RequestHandler):
    """Base: Status bodies for every error, bearer token check."""

    def initialize(self, standin):
        self.standin = standin

    def prepare(self):
        token = self.standin.token
        header = self.request.headers.get("Authorization") or ""
        # a token of KubeStandIn.accounts is that account (authz.py); the stand-in's own allows all
        self.account = self.standin.accounts.get(header[7:]) if header.startswith("Bearer ") else None
        if token and header != f"Bearer {token}" and self.account is None:
            raise ApiError(401, "Unauthorized", "Unauthorized")

    def send_json(self, body, code: int = 200):
        self.set_status(code)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def write_error(self, status_code, **kwargs):
        exc = kwargs.get("exc_info", (None, None))[1]
        if isinstance(exc, ApiError):
            err = exc
        elif status_code == 405:
            err = ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        else:
            err = ApiError(status_code, "InternalError", f"stand-in error: {exc!r}")
        self.set_status(err.code)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(err.status()))

    def log_exception(self, typ, value, tb):
        if not isinstance(value, ApiError):
            super().log_exception(typ, value, tb)


class DiscoveryHandler(StandInHandler):
    def get(self, what):
        if what == "version":
            minor = K8S_VERSION.split(".")[1]
            return self.send_json({"major": "1", "minor": minor, "gitVersion": f"v{K8S_VERSION}.0-standin",
                                   "platform": "linux/amd64"})
        if what == "api":
            return self.send_json({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})
        if what == "apis":
            groups = []
            for name, group_version in (("events.k8s.io", EVENTS_V1), (priority.GROUP, priority.API_VERSION),
                                        ("apps", "apps/v1")):
                version = {"groupVersion": group_version, "version": "v1"}
                groups.append({"name": name, "versions": [version], "preferredVersion": version})
            return self.send_json({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        if what in ("healthz", "livez", "readyz"):
            self.set_header("Content-Type", "text/plain")
            return self.finish("ok")
        if what == "api/v1":
            return self.send_json({"kind": "APIResourceList", "groupVersion": "v1", "resources": [
                {"name": r.plural, "singularName": r.kind.lower(), "namespaced": r.namespaced, "kind": r.kind,
                 "verbs": ["get", "list", "watch"] if r.plural == "nodes" else
                 ["create", "delete", "get", "list", "patch", "update", "watch"]}
                for r in RESOURCES.values() if r.api_version == "v1"]})
        raise ApiError(404, "NotFound", "the server could not find the requested resource")


class StandInExtensionHandler(StandInHandler):
    """``/_standin/...``: not Kubernetes - the test double's own controls."""

    def get(self, what):
        cluster = self.standin.cluster
        if what == "cluster":
            return self.send_json(cluster.snapshot())
        if what == "ledger":
            return self.send_json(cluster.ledger.report(cluster.clock.now()))
        raise ApiError(404, "NotFound", f"unknown stand-in endpoint {what!r}")

    def post(self, what):
        if what == "compact":
            self.standin.store.compact()
            return self.send_json({"compactedTo": self.standin.store.rv})
        raise ApiError(404, "NotFound", f"unknown stand-in endpoint {what!r}")




class ResourceHandler(StandInHandler):
    """``/api/v1/...``: parse the path, check parameters, dispatch on verb."""

    SUPPORTED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
    API_VERSION = "v1"

    def _out(self, obj: dict) -> dict:
        """The stored object as this API group serves it."""
        return obj

    def _serves(self, rtype) -> bool:
        return rtype.api_version == "v1"

    def _route(self, path: str):
        parts = [p for p in path.split("/") if p] if path else []
        ns = None
        if len(parts) >= 3 and parts[0] == "namespaces":
            ns, parts = parts[1], parts[2:]
            rtype = RESOURCES.get(parts[0])
            if rtype is None or not rtype.namespaced or not self._serves(rtype):
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
        else:
            rtype = RESOURCES.get(parts[0]) if parts else None
            if rtype is None or not self._serves(rtype):
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            if rtype.namespaced and len(parts) > 1:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
        name = parts[1] if len(parts) > 1 else None
        if len(parts) > 2:
            raise ApiError(404, "NotFound", f"the stand-in does not serve the subresource "
                           f"{rtype.plural}/{'/'.join(parts[2:])}")
        watch = self.get_query_argument("watch", "") in ("1", "t", "T", "TRUE", "true", "True")
        group = self.API_VERSION.rpartition("/")[0]  # "" for core/v1
        authorize(self.account, request_verb(self.request.method, name, watch), group, rtype.plural, ns, name)
        return rtype, ns, name

    def _params(self, verb: str) -> dict[str, str]:
        args = {k: v[-1].decode() for k, v in self.request.query_arguments.items()}
        unknown = set(args) - PARAMS[verb]
        if unknown:
            raise bad_request(f"unknown query parameter(s) for {verb}: {', '.join(sorted(unknown))}")
        if args.get("dryRun"):
            raise bad_request("dryRun is not supported by the stand-in")
        # the stand-in validates strictly whatever the client asks (kubectl --validate=false sends Ignore)
        if args.get("fieldValidation", "Strict") not in ("Strict", "Warn", "Ignore"):
            raise bad_request(f"invalid fieldValidation {args['fieldValidation']!r}: Ignore, Warn or Strict")
        if args.get("sendInitialEvents"):
            raise bad_request("sendInitialEvents (watch-list) is not supported by the stand-in")
        return args

    def _body(self):
        try:
            body = json.loads(self.request.body or b"null")
        except ValueError as e:
            raise bad_request(f"couldn't get version/kind; json parse error: {e}")
        if body is None:
            raise bad_request("request body is required")
        return body

    def _typed_body(self, rtype):
        body = self._body()
        if not isinstance(body, dict):
            raise bad_request(f"{rtype.kind} in version \"v1\" cannot be handled as a {rtype.kind}: "
                              "expected a JSON object")
        if body.get("apiVersion", rtype.api_version) != rtype.api_version:
            raise bad_request(f"the API version in the data ({body['apiVersion']}) does not match the "
                              f"expected API version ({rtype.api_version})")
        if body.get("kind", rtype.kind) != rtype.kind:
            raise bad_request(f"the kind in the data ({body['kind']}) does not match the expected kind "
                              f"({rtype.kind})")
        body["apiVersion"], body["kind"] = rtype.api_version, rtype.kind
        return body

    # -------------------------------------------------------------- verbs
    async def get(self, path):
        rtype, ns, name = self._route(path)
        store = self.standin.store
        if name is not None:
            self._params("get")
            return self.send_json(self._out(store.get(rtype.plural, ns, name)))
        args = self._params("list")
        labels = LabelSelector(args.get("labelSelector"))
        fields = FieldSelector(args.get("fieldSelector"), rtype.plural)

        def match(obj):
            return labels.matches(obj["metadata"].get("labels")) and fields.matches(obj)
        if parse_bool("watch", args.get("watch")):
            return await self._watch(rtype, ns, match, args)
        self._check_list_rv(args)
        items = store.list(rtype.plural, ns, match)
        start = 0
        if args.get("continue"):
            try:
                start = int(args["continue"].split(":")[1])
            except (IndexError, ValueError):
                raise bad_request("continue key is not valid")
        meta = {"resourceVersion": str(store.rv)}
        limit = int_param(args, "limit") or 0
        if limit and start + limit < len(items):
            meta["continue"] = f"standin:{start + limit}"
            meta["remainingItemCount"] = len(items) - start - limit
            items = items[start:start + limit]
        else:
            items = items[start:]
        items = [{k: v for k, v in self._out(o).items() if k not in ("kind", "apiVersion")} for o in items]
        self.send_json({"kind": f"{rtype.kind}List", "apiVersion": self.API_VERSION, "metadata": meta, "items": items})

    def _check_list_rv(self, args):
        rv, match = args.get("resourceVersion"), args.get("resourceVersionMatch")
        if match and not rv:
            raise bad_request("resourceVersionMatch is forbidden unless resourceVersion is provided")
        if match not in (None, "NotOlderThan", "Exact"):
            raise bad_request(f"invalid resourceVersionMatch {match!r}")
        if not rv or rv == "0":
            if match == "Exact":
                raise bad_request('resourceVersionMatch "Exact" is forbidden for resourceVersion "0"')
            return
        try:
            n = int(rv)
        except ValueError:
            raise bad_request(f"invalid resource version {rv!r}")
        current = self.standin.store.rv
        if n > current:
            raise ApiError(504, "Timeout", f"Too large resource version: {n}, current: {current}",
                           {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}]})
        if match == "Exact" and n != current:
            raise ApiError(410, "Expired", "The resourceVersion for the provided list is too old.")

    async def post(self, path):
        rtype, ns, name = self._route(path)
        if name is not None:
            raise ApiError(405, "MethodNotAllowed", "POST is not allowed on a named resource")
        self._read_only(rtype)
        self._params("create")
        body = self._typed_body(rtype)
        validate_object(body, rtype.kind, rtype.api_version)
        store = self.standin.store
        if rtype.kind == "PriorityClass":
            priority.default_class(body)
            priority.validate_class(body)
            priority.admit_class(store, body, None)
        if rtype.kind == "Pod":  # the Priority admission plugin (mutating: before the object is stored)
            priority.admit_pod_create(store, body)
        admission.on_create(rtype.kind, body)
        obj = store.create(rtype.plural, ns, body)
        if rtype.plural == "pods":
            self.standin.cluster.pod_created(obj)
        if rtype.plural == "daemonsets":
            self.standin.cluster.daemonsets.created(obj)
        self.send_json(obj, 201)

    async def put(self, path):
        rtype, ns, name = self._route(path)
        self._need_name(name)
        self._read_only(rtype)
        self._params("update")
        body = self._typed_body(rtype)
        store = self.standin.store
        old = store.get(rtype.plural, ns, name)
        rv = body.get("metadata", {}).get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {rtype.plural} "{name}": the object '
                           f"has been modified; please apply your changes to the latest version and try again")
        if body.get("metadata", {}).get("name", name) != name:
            raise bad_request("the name of the object does not match the name on the URL")
        self._store_update(rtype, ns, name, old, body)

    async def patch(self, path):
        rtype, ns, name = self._route(path)
        self._need_name(name)
        self._read_only(rtype)
        self._params("patch")
        old = self.standin.store.get(rtype.plural, ns, name)
        new = apply_patch(self.request.headers.get("Content-Type", ""), old, self._body())
        if not isinstance(new, dict):
            raise bad_request("patch result is not an object")
        self._store_update(rtype, ns, name, old, new)

    def _store_update(self, rtype, ns, name, old, new):
        new["apiVersion"], new["kind"] = rtype.api_version, rtype.kind
        validate_object(new, rtype.kind, rtype.api_version)
        if rtype.kind == "Pod":
            priority.admit_pod_update(old, new)
        if rtype.kind == "PriorityClass":
            priority.default_class(new)
            priority.validate_class(new)
            priority.validate_class_update(old, new)
            priority.admit_class(self.standin.store, new, old)
        validate_update(rtype.kind, old, new)
        admission.on_update(rtype.kind, old, new)
        if new == old:
            return self.send_json(old)
        self.send_json(self.standin.store.replace(rtype.plural, ns, name, new))

    async def delete(self, path):
        rtype, ns, name = self._route(path)
        if name is None:
            raise ApiError(405, "MethodNotAllowed", "deletecollection is not supported by the stand-in")
        self._read_only(rtype)
        args = self._params("delete")
        grace = int_param(args, "gracePeriodSeconds")
        if self.request.body:
            options = self._body()
            if not isinstance(options, dict):
                raise bad_request("DeleteOptions must be a JSON object")
            options.setdefault("apiVersion", "v1")
            options.setdefault("kind", "DeleteOptions")
            validate_object(options, "DeleteOptions")
            if options.get("dryRun"):
                raise bad_request("dryRun is not supported by the stand-in")
            if options.get("gracePeriodSeconds") is not None:
                grace = int(options["gracePeriodSeconds"])
            precondition = (options.get("preconditions") or {})
            current = self.standin.store.get(rtype.plural, ns, name)
            for key in ("uid", "resourceVersion"):
                if precondition.get(key) and precondition[key] != current["metadata"][key]:
                    raise ApiError(409, "Conflict", f"Precondition failed: {key} in precondition: "
                                   f"{precondition[key]}, {key} in object meta: {current['metadata'][key]}")
        store, cluster = self.standin.store, self.standin.cluster
        if rtype.plural == "priorityclasses":
            priority.check_delete(name)
            store.get(rtype.plural, ns, name)
        if rtype.plural == "pods":
            return self.send_json(cluster.delete_pod(ns, name, grace))
        if rtype.plural == "namespaces":
            store.get("namespaces", None, name)
            obj = store.update("namespaces", None, name, lambda o: o["status"].update(phase="Terminating"))
            cluster.delete_namespace_contents(name)
            store.delete("namespaces", None, name)
            return self.send_json(obj)
        obj = store.delete(rtype.plural, ns, name)
        if rtype.plural == "persistentvolumeclaims":
            cluster.request_scheduling()
        self.send_json(obj)

    async def head(self, path):
        raise ApiError(405, "MethodNotAllowed", "HEAD is not supported")

    async def options(self, path):
        raise ApiError(405, "MethodNotAllowed", "OPTIONS is not supported")

    def _need_name(self, name):
        if name is None:
            raise ApiError(405, "MethodNotAllowed", "this verb needs a named resource")

    def _read_only(self, rtype):
        if rtype.plural == "nodes":
            raise ApiError(405, "MethodNotAllowed", "nodes are managed by the stand-in's autoscaler; "
                           "only get, list and watch are served")

    # -------------------------------------------------------------- watch
    async def _watch(self, rtype, ns, match, args):
        store = self.standin.store
        rv = args.get("resourceVersion")
        try:
            since = None if rv in (None, "", "0") else int(rv)
        except ValueError:
            raise bad_request(f"invalid resource version {rv!r}")
        timeout = int_param(args, "timeoutSeconds")
        timeout = self.standin.watch_timeout if timeout is None else timeout
        bookmarks = parse_bool("allowWatchBookmarks", args.get("allowWatchBookmarks"))
        self._auto_finish = False  # the stream may end by the client leaving: finish only if it is still there
        self.set_header("Content-Type", "application/json")
        try:
            watcher, backlog = store.watch(rtype.plural, ns, since)
        except ApiError as e:
            if e.code != 410:
                raise
            self.standin.count("gone")
            self.write(json.dumps({"type": "ERROR", "object": e.status()}) + "\n")
            return self.finish()
        self.standin.count("watch")
        self._closed = False
        try:
            if since is None:
                for obj in store.list(rtype.plural, ns, match):
                    self.write(json.dumps({"type": "ADDED", "object": self._out(obj)}) + "\n")
            for change in backlog:
                self._write_change(change, match)
            await self.flush()
            deadline = time.monotonic() + timeout
            interval = self.standin.bookmark_interval
            last_sent = time.monotonic()
            while not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    wait = min(remaining, 1.0, interval if bookmarks else 1.0)
                    change = await asyncio.wait_for(watcher.queue.get(), timeout=wait)
                except asyncio.TimeoutError:
                    if bookmarks and time.monotonic() - last_sent >= interval:
                        self.write(json.dumps({"type": "BOOKMARK", "object": {
                            "kind": rtype.kind, "apiVersion": self.API_VERSION,
                            "metadata": {"resourceVersion": str(store.rv)}}}) + "\n")
                        await self.flush()
                        last_sent = time.monotonic()
                    continue
                if change is None:  # the stand-in is stopping: end the stream as a watch timeout would
                    break
                self._write_change(change, match)
                while not watcher.queue.empty():
                    change = watcher.queue.get_nowait()
                    if change is None:
                        break
                    self._write_change(change, match)
                if change is None:
                    break
                await self.flush()
                last_sent = time.monotonic()
            if not self._closed:
                self.finish()
        except StreamClosedError:
            pass
        finally:
            watcher.close()

    def _write_change(self, change, match):
        now = match(change.obj)
        if change.type == "ADDED":
            kind = "ADDED" if now else None
        elif change.type == "DELETED":
            kind = "DELETED" if match(change.old) else None
        else:
            before = match(change.old)
            kind = {(True, True): "MODIFIED", (False, True): "ADDED", (True, False): "DELETED"}.get((before, now))
        if kind:
            self.write(json.dumps({"type": kind, "object": self._out(change.obj)}) + "\n")

    def on_connection_close(self):
        self._closed = True



# the catch-all handler also serves events.k8s.io/v1 (it subclasses ResourceHandler, defined above)
from .events_api import EVENTS_V1, NotFoundHandler  # noqa: E402
