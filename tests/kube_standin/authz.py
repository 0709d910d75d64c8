"""Authorization in the stand-in: service-account-like tokens with RBAC rules, the 403 a real API
server answers when they do not allow a request, and SelfSubjectAccessReview (a test double).

The stand-in's own token (``KubeStandIn.token``) stays allowed everything, like a cluster admin.
Tokens added to ``KubeStandIn.accounts`` are authorized as RBAC does
(https://kubernetes.io/docs/reference/access-authn-authz/rbac/): a request is allowed when a rule
of the account names its API group, resource and verb (``*`` for any); a rule with
``namespaces`` acts as a Role bound in each of them (it cannot grant cluster-scoped resources), one
without as a ClusterRole bound by a ClusterRoleBinding. RBAC only allows: no rule means no.

A refused request gets the apiserver's Forbidden Status (k8s.io/apiserver
pkg/endpoints/handlers/responsewriters/errors.go ``forbiddenMessage``, apimachinery
``NewForbidden``): ``pods is forbidden: User "…" cannot list resource "pods" in API group "" in the
namespace "jhub"``, reason ``Forbidden``, code 403, ``details.kind`` the resource (and ``name``).

``POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews`` (pkg/registry/authorization/
selfsubjectaccessreview/rest.go ``Create``; "Checking API access",
https://kubernetes.io/docs/reference/access-authn-authz/authorization/#checking-api-access): the
spec needs exactly one of ``resourceAttributes`` and ``nonResourceAttributes`` (else 422 Invalid);
the answer, 201, is the review with ``status.allowed`` for the asking token (``denied`` false: RBAC
never denies, it only has no opinion; ``reason`` empty). Non-resource attributes are never allowed
for an account. Not modelled: the group not listed in ``/apis`` discovery, rule ``resourceNames``,
aggregated roles, impersonation, groups of users.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .errors import ApiError

AUTHORIZATION_V1 = "authorization.k8s.io/v1"


@dataclass(frozen=True)
class Rule:
    verbs: tuple[str, ...]
    resources: tuple[str, ...]
    api_groups: tuple[str, ...] = ("",)
    namespaces: tuple[str, ...] | None = None  # None: cluster-wide (a ClusterRoleBinding)

    def allows(self, verb: str, group: str, resource: str, namespace: str | None) -> bool:
        if self.namespaces is not None and (namespace is None or namespace not in self.namespaces):
            return False
        return (verb in self.verbs or "*" in self.verbs) and (resource in self.resources or "*" in self.resources) \
            and (group in self.api_groups or "*" in self.api_groups)


@dataclass
class Account:
    """What a token authenticates as (``system:serviceaccount:<ns>:<name>`` for a service account)."""

    user: str
    rules: list[Rule] = field(default_factory=list)

    def allows(self, verb: str, group: str, resource: str, namespace: str | None) -> bool:
        return any(r.allows(verb, group, resource, namespace) for r in self.rules)


def request_verb(method: str, name: str | None, watch: bool) -> str:
    """The authorization verb of a resource request (apiserver pkg/endpoints/request/requestinfo.go)."""
    if method in ("GET", "HEAD"):
        return "get" if name is not None else ("watch" if watch else "list")
    return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, method.lower())


def forbidden(user: str, verb: str, group: str, resource: str, namespace: str | None, name: str | None) -> ApiError:
    where = f"in the namespace {json.dumps(namespace)}" if namespace else "at the cluster scope"
    qualified = f"{resource}.{group}" if group else resource
    subject = f"{qualified} {json.dumps(name)}" if name else qualified
    message = (f"{subject} is forbidden: User {json.dumps(user)} cannot {verb} resource {json.dumps(resource)} "
               f"in API group {json.dumps(group)} {where}")
    details = {"kind": resource, **({"group": group} if group else {}), **({"name": name} if name else {})}
    return ApiError(403, "Forbidden", message, details)


def authorize(account: Account | None, verb: str, group: str, resource: str, namespace: str | None,
              name: str | None) -> None:
    """Raise the Forbidden error unless ``account`` (None: the stand-in's admin token) may do it."""
    if account is not None and not account.allows(verb, group, resource, namespace):
        raise forbidden(account.user, verb, group, resource, namespace, name)


def review(account: Account | None, body) -> dict:
    """A SelfSubjectAccessReview answered for ``account``."""
    if not isinstance(body, dict) or body.get("apiVersion") != AUTHORIZATION_V1 \
            or body.get("kind") != "SelfSubjectAccessReview":
        raise ApiError(400, "BadRequest", "not a SelfSubjectAccessReview")
    spec = body.get("spec") or {}
    attributes, non_resource = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if (attributes is None) == (non_resource is None):
        raise ApiError(422, "Invalid", 'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: '
                       "spec.resourceAttributes: Invalid value: \"null\": exactly one of nonResourceAttributes or "
                       "resourceAttributes must be specified",
                       {"kind": "SelfSubjectAccessReview", "group": "authorization.k8s.io",
                        "causes": [{"reason": "FieldValueInvalid", "field": "spec.resourceAttributes"}]})
    if attributes is not None:
        allowed = account is None or account.allows(attributes.get("verb", ""), attributes.get("group", ""),
                                                    attributes.get("resource", ""), attributes.get("namespace") or None)
    else:
        allowed = account is None
    # Go's JSON leaves out the false ``denied`` and the empty ``reason`` (omitempty)
    return {**body, "metadata": body.get("metadata") or {}, "status": {"allowed": allowed}}
