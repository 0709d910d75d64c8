"""The HTTP side of the stand-in's MLflow API as GitLab's Grape endpoints behave: authentication
and roles (lib/api/ml/mlflow/entrypoint.rb, api_helpers.rb, app/policies/project_policy.rb), params
(Grape: query string then JSON body, ``requires`` / types, undeclared ones ignored), the structured
errors and the keyset pages of the search endpoints."""

from __future__ import annotations

import base64
import json

from . import api
from .state import DEVELOPER, GUEST


def _json(data, status=200):
    from .server import Response

    return Response.json(data, status)


def not_exist():
    return _json({"error_code": "RESOURCE_DOES_NOT_EXIST"}, 404)


def already_exists():
    return _json({"error_code": "RESOURCE_ALREADY_EXISTS"}, 400)


def invalid(message=None):
    return _json({"error_code": "INVALID_PARAMETER_VALUE", "message": message}, 400)


class Refusal(Exception):
    """An answer GitLab gives before the endpoint's work (auth, params)."""

    def __init__(self, response):
        super().__init__("refused")
        self.response = response


def params(request) -> dict:
    """Grape's params: the query string, then the JSON body (undeclared ones are ignored)."""
    merged = {k: (v if len(v) > 1 else v[-1]) for k, v in request.query.items()}
    if request.method != "GET" and request.body:
        try:
            body = json.loads(request.body)
        except ValueError:
            raise Refusal(_json({"error": "The provided content-type 'application/json' is not supported."}, 406))
        merged.update(body if isinstance(body, dict) else {})
    return merged


def require(p: dict, *names: str, kind=str):
    """Grape ``requires``: a missing one is ``<name> is missing``, a wrong type ``<name> is invalid``."""
    values = []
    for name in names:
        if p.get(name) in (None, ""):
            raise Refusal(_json({"error": f"{name} is missing"}, 400))
        values.append(coerce(p, name, kind))
    return values if len(values) > 1 else values[0]


def coerce(p: dict, name: str, kind, default=None):
    value = p.get(name)
    if value is None:
        return default
    try:
        if kind is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if kind is float:
            return float(value)
        if kind is str and isinstance(value, (list, dict)):
            raise ValueError
        return kind(value)
    except (TypeError, ValueError):
        raise Refusal(_json({"error": f"{name} is invalid"}, 400)) from None


def context(gitlab, request, ref, write: bool = False):
    """(user, project) after GitLab's checks, in GitLab's order; raises Refusal with its answer."""
    scopes = {"api", "read_api"} if request.method in ("GET", "HEAD") else {"api"}
    user, project = api._project(gitlab, request, ref, scopes)
    if project is None:
        raise Refusal(user)
    level = project.level(user)
    # read_model_experiments and read_model_registry: Guest+; the write_ ones: Developer+
    if level < GUEST:  # check_api_read! / check_api_model_registry_read!: not_found!
        raise Refusal(_json({"message": "404 Not Found"}, 404))
    if write and level < DEVELOPER:  # check_api_write! / check_api_model_registry_write!: unauthorized!
        raise Refusal(_json({"message": "401 Unauthorized"}, 401))
    return user, project


def handler(write=False, body=True):
    """Wrap an endpoint: auth as GitLab, then ``fn(gitlab, user, project, params, *groups)``;
    ``body=False``: the body is a file, passed raw as ``params["_body"]``."""

    def wrap(fn):
        def endpoint(gitlab, request, ref, *groups):
            try:
                user, project = context(gitlab, request, ref, write)
                with gitlab.world.lock:
                    p = params(request) if body else {**request.query, "_body": request.body}
                    return fn(gitlab, user, project, p, *groups)
            except Refusal as refusal:
                return refusal.response

        endpoint.__name__ = fn.__name__
        return endpoint

    return wrap


def page(p: dict, items: list, default_max: int = 200):
    """Keyset pagination stand-in: an opaque token for the next offset, null after the last page."""
    size = min(coerce(p, "max_results", int, default_max), 1000)
    if size < 1:
        raise Refusal(invalid("max_results must be positive"))
    start = 0
    if p.get("page_token"):
        try:
            start = int(base64.urlsafe_b64decode(p["page_token"]).decode())
        except ValueError:
            raise Refusal(invalid("Invalid page token"))
    chunk = items[start : start + size]
    more = start + size < len(items)
    return chunk, base64.urlsafe_b64encode(str(start + size).encode()).decode() if more else None


def tag_pairs(p, name="tags") -> list[tuple[str, str]]:
    """An MLflow ``tags`` list ([{key, value}]) as (key, value) pairs."""
    found = p.get(name) or []
    if not isinstance(found, list) or any(not isinstance(t, dict) or not t.get("key") for t in found):
        raise Refusal(_json({"error": f"{name} is invalid"}, 400))
    return [(t["key"], str(t.get("value", ""))) for t in found]


def dict_list(p, name) -> list[dict]:
    """A param that must be a list of objects (log-batch's metrics and params)."""
    found = p.get(name) or []
    if not isinstance(found, list) or not all(isinstance(x, dict) for x in found):
        raise Refusal(_json({"error": f"{name} is invalid"}, 400))
    return found
