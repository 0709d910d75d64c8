"""PATCH bodies: JSON merge patch, strategic merge patch and JSON patch.

Strategic merge follows the patch strategies of core/v1 types as far as pods,
services, secrets, PVCs and namespaces need them: lists with a merge key are
merged item by item (``containers`` by ``name``, ``volumeMounts`` by
``mountPath`` ...), other lists are replaced.  Directives supported: ``$patch``
(``replace``/``delete``/``merge``) and ``$deleteFromPrimitiveList/<field>``;
anything else starting with ``$`` is refused with 400 rather than ignored.
"""

from __future__ import annotations

import copy

from .errors import ApiError, bad_request

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"

# field name -> merge key, for the core/v1 fields with patchStrategy "merge"
MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name",
    "env": "name", "volumes": "name", "imagePullSecrets": "name",
    "volumeMounts": "mountPath", "volumeDevices": "devicePath",
    "hostAliases": "ip", "ownerReferences": "uid", "conditions": "type",
    "topologySpreadConstraints": "topologyKey", "resourceClaims": "name",
}
# lists of scalars whose strategy is "merge" (union)
MERGE_SCALAR_LISTS = {"finalizers"}


def merge_patch(target, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _check_directive(key: str) -> None:
    if key.startswith("$") and key != "$patch" and not key.startswith("$deleteFromPrimitiveList/"):
        raise bad_request(f"strategic merge patch directive {key!r} is not supported by the stand-in")


def strategic_merge(target, patch, field: str | None = None):
    if isinstance(patch, dict):
        directive = patch.get("$patch")
        if directive == "delete":
            return None
        if directive == "replace":
            return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
        if directive not in (None, "merge"):
            raise bad_request(f"unknown patch type: {directive!r}")
        result = copy.deepcopy(target) if isinstance(target, dict) else {}
        for key, value in patch.items():
            _check_directive(key)
            if key == "$patch":
                continue
            if key.startswith("$deleteFromPrimitiveList/"):
                name = key.split("/", 1)[1]
                result[name] = [v for v in result.get(name) or [] if v not in value]
                continue
            if value is None:
                result.pop(key, None)
                continue
            merged = strategic_merge(result.get(key), value, key)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        return result
    if isinstance(patch, list):
        return _merge_list(target if isinstance(target, list) else [], patch, field)
    return copy.deepcopy(patch)


def _merge_list(target: list, patch: list, field: str | None) -> list:
    if any(isinstance(p, dict) and p.get("$patch") == "replace" and len(p) == 1 for p in patch):
        return [copy.deepcopy(p) for p in patch if not (isinstance(p, dict) and "$patch" in p)]
    key = MERGE_KEYS.get(field or "")
    if key is None:
        if field in MERGE_SCALAR_LISTS:
            return list(target) + [p for p in patch if p not in target]
        return copy.deepcopy(patch)
    result = [copy.deepcopy(t) for t in target]
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise bad_request(f"map: {item!r} does not contain declared merge key: {key}")
        idx = next((i for i, t in enumerate(result) if isinstance(t, dict) and t.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                result.pop(idx)
            continue
        if idx is None:
            result.append(strategic_merge({}, item, None))
        else:
            result[idx] = strategic_merge(result[idx], item, None)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(f"JSON pointer must start with '/': {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc, parts):
    for p in parts:
        doc = doc[int(p)] if isinstance(doc, list) else doc[p]
    return doc


def json_patch(target: dict, ops: list) -> dict:
    """RFC 6902."""
    doc = copy.deepcopy(target)
    if not isinstance(ops, list):
        raise bad_request("json patch body must be a list of operations")
    for op in ops:
        try:
            kind, parts = op["op"], _pointer(op["path"])
            parent = _walk(doc, parts[:-1]) if parts else None
            last = parts[-1] if parts else None
            if kind in ("add", "replace"):
                value = copy.deepcopy(op["value"])
                if isinstance(parent, list):
                    idx = len(parent) if last == "-" else int(last)
                    if kind == "add":
                        parent.insert(idx, value)
                    else:
                        parent[idx] = value
                else:
                    if kind == "replace" and last not in parent:
                        raise KeyError(last)
                    parent[last] = value
            elif kind == "remove":
                if isinstance(parent, list):
                    parent.pop(int(last))
                else:
                    del parent[last]
            elif kind == "test":
                if _walk(doc, parts) != op["value"]:
                    raise ApiError(422, "Invalid", f"testing value {op['path']} failed")
            elif kind in ("move", "copy"):
                src = _pointer(op["from"])
                value = copy.deepcopy(_walk(doc, src))
                if kind == "move":
                    sp = _walk(doc, src[:-1])
                    sp.pop(int(src[-1])) if isinstance(sp, list) else sp.pop(src[-1])
                json_patch_doc = json_patch(doc, [{"op": "add", "path": op["path"], "value": value}])
                doc = json_patch_doc
            else:
                raise bad_request(f"unknown json patch operation {kind!r}")
        except (KeyError, IndexError, ValueError, TypeError) as e:
            raise ApiError(422, "Invalid", f"the server rejected our request due to an error in our request: "
                           f"json patch {op!r} failed: {e!r}")
    return doc


def apply_patch(content_type: str, target: dict, body) -> dict:
    ctype = (content_type or "").split(";")[0].strip()
    if ctype == MERGE_PATCH:
        if not isinstance(body, dict):
            raise bad_request("merge patch body must be a JSON object")
        return merge_patch(target, body)
    if ctype == STRATEGIC:
        if not isinstance(body, dict):
            raise bad_request("strategic merge patch body must be a JSON object")
        return strategic_merge(target, body)
    if ctype == JSON_PATCH:
        return json_patch(target, body)
    raise ApiError(415, "UnsupportedMediaType",
                   f"the body of the request was in an unknown format - accepted media types include: "
                   f"{JSON_PATCH}, {MERGE_PATCH}, {STRATEGIC} (server-side apply is not modelled)")
