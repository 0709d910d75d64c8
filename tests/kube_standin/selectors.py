"""Label and field selectors, parsed strictly.

Unknown field labels are refused with 400 as the real API server does
("field label not supported"), rather than silently matching everything.
"""

from __future__ import annotations

import re

from .errors import bad_request

_KEY = re.compile(r"^([a-z0-9A-Z]([-a-z0-9A-Z.]*[a-z0-9A-Z])?/)?[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$")
_VALUE = re.compile(r"^([a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?)?$")


def _split_top(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def _check_key(key: str, selector: str) -> str:
    if not _KEY.match(key) or len(key.split("/")[-1]) > 63:
        raise bad_request(f'unable to parse requirement: invalid label key "{key}" in selector "{selector}"')
    return key


def _check_value(value: str, selector: str) -> str:
    if not _VALUE.match(value) or len(value) > 63:
        raise bad_request(f'unable to parse requirement: invalid label value "{value}" in selector "{selector}"')
    return value


class LabelSelector:
    """``a=b,c!=d,e in (f,g),h notin (i),j,!k``."""

    _SET = re.compile(r"^(\S+)\s+(in|notin)\s*\((.*)\)$")

    def __init__(self, text: str | None):
        self.text = text or ""
        self.requirements: list[tuple[str, str, tuple[str, ...]]] = []
        for term in _split_top(self.text):
            self.requirements.append(self._parse(term))

    def _parse(self, term: str):
        m = self._SET.match(term)
        if m:
            key, op, values = m.groups()
            vals = tuple(_check_value(v.strip(), self.text) for v in values.split(","))
            return _check_key(key, self.text), op, vals
        for op in ("!=", "==", "="):
            if op in term:
                key, value = term.split(op, 1)
                op = "=" if op == "==" else op
                return _check_key(key.strip(), self.text), op, (_check_value(value.strip(), self.text),)
        if term.startswith("!"):
            return _check_key(term[1:].strip(), self.text), "!", ()
        if " " in term or "(" in term:
            raise bad_request(f'unable to parse requirement: found "{term}", expected: in, notin, =, ==, !=')
        return _check_key(term, self.text), "exists", ()

    def matches(self, labels: dict | None) -> bool:
        labels = labels or {}
        for key, op, vals in self.requirements:
            present = key in labels
            value = labels.get(key)
            if op == "=" and value != vals[0]:
                return False
            if op == "!=" and present and value == vals[0]:
                return False
            if op == "in" and value not in vals:
                return False
            if op == "notin" and present and value in vals:
                return False
            if op == "exists" and not present:
                return False
            if op == "!" and present:
                return False
        return True


# field labels each resource supports (a subset of the real API server's)
_COMMON = {"metadata.name", "metadata.namespace"}
FIELDS = {
    "pods": _COMMON | {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                       "spec.serviceAccountName", "status.phase", "status.podIP",
                       "status.nominatedNodeName"},
    "events": _COMMON | {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                         "involvedObject.uid", "involvedObject.apiVersion",
                         "involvedObject.resourceVersion", "involvedObject.fieldPath",
                         "reason", "reportingComponent", "source", "type"},
    "secrets": _COMMON | {"type"},
    "namespaces": _COMMON | {"status.phase"},
    "nodes": _COMMON | {"spec.unschedulable"},
    "services": _COMMON,
    "persistentvolumeclaims": _COMMON,
    "configmaps": _COMMON,
}


def _get_field(obj: dict, path: str) -> str:
    if path == "source":
        return (obj.get("source") or {}).get("component", "")
    cur = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


class FieldSelector:
    """``metadata.name=x,involvedObject.kind=Pod,status.phase!=Running``."""

    def __init__(self, text: str | None, plural: str):
        self.text = text or ""
        self.terms: list[tuple[str, str, str]] = []
        supported = FIELDS.get(plural, _COMMON)
        for term in _split_top(self.text):
            for op in ("!=", "==", "="):
                if op in term:
                    key, value = term.split(op, 1)
                    break
            else:
                raise bad_request(f'invalid selector: \'{self.text}\'; can\'t understand \'{term}\'')
            key = key.strip()
            if key not in supported:
                raise bad_request(f'field label not supported: {key}')
            self.terms.append((key, "!=" if op == "!=" else "=", value.strip()))

    def matches(self, obj: dict) -> bool:
        for key, op, value in self.terms:
            actual = _get_field(obj, key)
            if (actual == value) != (op == "="):
                return False
        return True
