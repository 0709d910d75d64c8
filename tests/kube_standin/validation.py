"""Strict validation of received objects against kubernetes-validate's schemas.

The schemas come from the ``kubernetes-validate`` package (its "-strict"
variants, in which every object refuses properties it does not declare).
Validators are built once per kind and cached: ``kubernetes_validate.validate``
re-reads the multi-megabyte definitions file on every call.

Error mapping follows the real API server:

* an unknown field -> 400 BadRequest "strict decoding error: unknown field ..."
  (what ``fieldValidation=Strict`` does; the stand-in is always strict);
* any other schema violation (wrong type, bad enum, missing required field) and
  the semantic checks below -> 422 Invalid with the field path.
"""

from __future__ import annotations

import re
from functools import lru_cache

import jsonschema
import kubernetes_validate.utils as kv
from referencing import Registry, Resource

from .errors import ApiError
from .quantity import QuantityError, parse

K8S_VERSION = "1.33"

_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


def _schema_dir() -> str:
    version = [v for v in kv.all_versions() if kv.major_minor(v) == K8S_VERSION][-1]
    return f"kubernetes-json-schema/v{version}-local-strict"


@lru_cache(maxsize=None)
def _registry() -> Registry:
    defs = kv.schema_contents(f"{_schema_dir()}/_definitions.json", K8S_VERSION)
    return Resource.from_contents(defs) @ Registry()


@lru_cache(maxsize=None)
def validator(kind: str, api_version: str = "v1") -> jsonschema.Validator:
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    if kind == "DeleteOptions":  # a meta/v1 type, accepted by every group
        group_version = "meta-v1"
    schema = kv.schema_contents(f"{_schema_dir()}/{kind.lower()}-{group_version}.json", K8S_VERSION)
    registry = Resource.from_contents(schema) @ _registry()
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def _path(error: jsonschema.ValidationError) -> str:
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _unknown_fields(error: jsonschema.ValidationError) -> list[str]:
    extra = set(error.instance) - set(error.schema.get("properties", {}))
    base = _path(error)
    return sorted(f"{base}.{name}" if base else name for name in extra)


def validate_schema(obj: dict, kind: str, api_version: str = "v1") -> None:
    """Raise ``ApiError`` unless ``obj`` is a valid ``kind`` in strict mode."""
    name = (obj.get("metadata") or {}).get("name") or (obj.get("metadata") or {}).get("generateName", "")
    errors = sorted(validator(kind, api_version).iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))
    unknown, invalid = [], []
    for err in errors:
        if err.validator == "additionalProperties" and err.validator_value is False:
            unknown.extend(_unknown_fields(err))
        else:
            invalid.append(err)
    if unknown:
        listed = ", ".join(f'unknown field "{u}"' for u in unknown)
        raise ApiError(400, "BadRequest",
                       f'{kind} in version "v1" cannot be handled as a {kind}: strict decoding error: {listed}')
    if invalid:
        causes = [{"reason": "FieldValueInvalid", "field": _path(e), "message": e.message} for e in invalid]
        text = ", ".join(f"{c['field'] or '<root>'}: Invalid value: {c['message']}" for c in causes)
        group = api_version.rpartition("/")[0]
        qualified = f"{kind}.{group}" if group else kind  # schema.GroupKind's String()
        raise ApiError(422, "Invalid", f'{qualified} "{name}" is invalid: {text}',
                       {"name": name, "kind": kind.lower() + "s", "causes": causes})


def _invalid(kind: str, name: str, field: str, message: str) -> ApiError:
    return ApiError(422, "Invalid", f'{kind} "{name}" is invalid: {field}: {message}',
                    {"name": name, "kind": kind.lower() + "s",
                     "causes": [{"reason": "FieldValueInvalid", "field": field, "message": message}]})


def validate_semantics(obj: dict, kind: str) -> None:
    """The API server's own validation, beyond the OpenAPI schema (a subset)."""
    meta = obj.get("metadata") or {}
    name = meta.get("name") or ""
    if name:
        pattern = _DNS1123_LABEL if kind in ("Namespace", "Service") else _DNS1123_SUBDOMAIN
        limit = 63 if kind in ("Namespace", "Service") else 253
        if not pattern.match(name) or len(name) > limit:
            raise _invalid(kind, name, "metadata.name",
                           f'Invalid value: "{name}": a lowercase RFC 1123 name must consist of lower case '
                           "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character")
    for key, value in (meta.get("labels") or {}).items():
        if not _LABEL_NAME.match(key.split("/")[-1]) or len(key.split("/")[-1]) > 63:
            raise _invalid(kind, name, "metadata.labels", f'Invalid value: "{key}": name part must consist of '
                           "alphanumeric characters, '-', '_' or '.'")
        if not isinstance(value, str) or not _LABEL_VALUE.match(value) or len(value) > 63:
            raise _invalid(kind, name, "metadata.labels", f'Invalid value: "{value}": a valid label must be an '
                           "empty string or consist of alphanumeric characters, '-', '_' or '.' (at most 63)")
    if kind == "Pod":
        _validate_pod(obj, name)


def _validate_pod(pod: dict, name: str) -> None:
    spec = pod.get("spec") or {}
    containers = spec.get("containers") or []
    if not containers:
        raise _invalid("Pod", name, "spec.containers", "Required value")
    seen = set()
    for group in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(group) or []):
            field = f"spec.{group}[{i}]"
            cname = c.get("name") or ""
            if not _DNS1123_LABEL.match(cname):
                raise _invalid("Pod", name, f"{field}.name", f'Invalid value: "{cname}"')
            if cname in seen:
                raise _invalid("Pod", name, f"{field}.name", f'Duplicate value: "{cname}"')
            seen.add(cname)
            if not c.get("image"):
                raise _invalid("Pod", name, f"{field}.image", "Required value")
            res = c.get("resources") or {}
            for section in ("requests", "limits"):
                for rname, q in (res.get(section) or {}).items():
                    try:
                        parse(q)
                    except QuantityError as e:
                        raise _invalid("Pod", name, f"{field}.resources.{section}[{rname}]", str(e))
            for rname, q in (res.get("requests") or {}).items():
                lim = (res.get("limits") or {}).get(rname)
                if lim is not None and parse(q) > parse(lim):
                    raise _invalid("Pod", name, f"{field}.resources.requests",
                                   f'Invalid value: "{q}": must be less than or equal to {rname} limit of {lim}')


_POD_MUTABLE = "spec.containers[*].image, spec.initContainers[*].image, spec.activeDeadlineSeconds, " \
               "spec.tolerations (only additions to existing tolerations), spec.terminationGracePeriodSeconds"


def validate_update(kind: str, old: dict, new: dict) -> None:
    """Immutability rules on update/patch."""
    name = old["metadata"]["name"]
    for field in ("name", "namespace", "uid"):
        if field in new.get("metadata", {}) and new["metadata"][field] != old["metadata"].get(field):
            raise _invalid(kind, name, f"metadata.{field}", "Invalid value: field is immutable")
    if kind == "Pod":
        def strip(spec):
            spec = {k: v for k, v in (spec or {}).items()
                    if k not in ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds")}
            for group in ("containers", "initContainers"):
                if group in spec:
                    spec[group] = [{k: v for k, v in c.items() if k != "image"} for c in spec[group]]
            return spec
        if strip(old.get("spec")) != strip(new.get("spec")):
            raise _invalid(kind, name, "spec", f"Forbidden: pod updates may not change fields other than {_POD_MUTABLE}")
        old_tol = old.get("spec", {}).get("tolerations") or []
        new_tol = new.get("spec", {}).get("tolerations") or []
        if any(t not in new_tol for t in old_tol):
            raise _invalid(kind, name, "spec.tolerations", "Forbidden: existing toleration can not be modified except its tolerationSeconds")


def validate_object(obj: dict, kind: str, api_version: str = "v1") -> None:
    validate_schema(obj, kind, api_version)
    validate_semantics(obj, kind)
