"""PriorityClass (scheduling.k8s.io/v1) and the Priority admission plugin, as the API server has them.

Sources (github.com/kubernetes/kubernetes):

* pkg/apis/scheduling/v1/helpers.go: the two system classes the API server creates at start
  (pkg/registry/scheduling/rest/storage_scheduling.go, post-start hook), ``IsKnownSystemPriorityClass``;
* pkg/apis/scheduling/types.go: ``HighestUserDefinablePriority`` 1e9, ``SystemCriticalPriority`` 2e9,
  the ``system-`` prefix, ``DefaultPriorityWhenNoDefaultClassExists`` 0;
* pkg/apis/scheduling/v1/defaults.go: ``preemptionPolicy`` defaults to PreemptLowerPriority;
* pkg/apis/scheduling/validation/validation.go: ValidatePriorityClass / ValidatePriorityClassUpdate;
* pkg/registry/scheduling/priorityclass/storage/storage.go: system classes cannot be deleted;
* plugin/pkg/admission/priority/admission.go: a pod's ``priorityClassName`` resolved to
  ``spec.priority`` and ``spec.preemptionPolicy`` (the global default class, or 0 and
  PreemptLowerPriority without one); an unknown class or a client-set priority that differs is
  Forbidden; only one ``globalDefault`` class.
"""

from __future__ import annotations

from .errors import ApiError

GROUP = "scheduling.k8s.io"
API_VERSION = "scheduling.k8s.io/v1"
HIGHEST_USER_DEFINABLE = 1_000_000_000
SYSTEM_CRITICAL = 2 * HIGHEST_USER_DEFINABLE
SYSTEM_PREFIX = "system-"
PREEMPT = "PreemptLowerPriority"

SYSTEM_CLASSES = [
    {"metadata": {"name": "system-node-critical"}, "value": SYSTEM_CRITICAL + 1000,
     "description": "Used for system critical pods that must not be moved from their current node."},
    {"metadata": {"name": "system-cluster-critical"}, "value": SYSTEM_CRITICAL,
     "description": "Used for system critical pods that must run in the cluster, but can be moved to another "
                    "node if necessary."},
]
_SYSTEM = {c["metadata"]["name"]: c for c in SYSTEM_CLASSES}


def install_system_classes(store) -> None:
    """The API server's post-start hook creates the system classes."""
    for pc in SYSTEM_CLASSES:
        obj = {"apiVersion": API_VERSION, "kind": "PriorityClass", **pc, "preemptionPolicy": PREEMPT}
        store.create("priorityclasses", None, obj)


def pod_priority(pod: dict) -> int:
    """corev1helpers.PodPriority: spec.priority, 0 when unset."""
    return int((pod.get("spec") or {}).get("priority") or 0)


def _invalid(name: str, field: str, detail: str, value=None) -> ApiError:
    """field.Forbidden in an Invalid status (StatusError for PriorityClass.scheduling.k8s.io)."""
    message = f"Forbidden: {detail}"
    return ApiError(422, "Invalid", f'PriorityClass.{GROUP} "{name}" is invalid: {field}: {message}',
                    {"name": name, "group": GROUP, "kind": "PriorityClass",
                     "causes": [{"reason": "FieldValueForbidden", "message": message, "field": field}]})


def _forbidden(resource: str, name: str, detail: str) -> ApiError:
    """apierrors.NewForbidden (admission.NewForbidden uses the request's resource and name)."""
    kind = resource if "." not in resource else resource.split(".", 1)[0]
    details = {"name": name, "kind": kind}
    if resource.endswith("." + GROUP):
        details["group"] = GROUP
    return ApiError(403, "Forbidden", f'{resource} "{name}" is forbidden: {detail}', details)


# ---------------------------------------------------------------------- PriorityClass objects
def default_class(pc: dict) -> None:
    """SetDefaults_PriorityClass."""
    pc.setdefault("preemptionPolicy", PREEMPT)
    if pc.get("globalDefault") is False:
        del pc["globalDefault"]  # `json:"globalDefault,omitempty"`


def validate_class(pc: dict) -> None:
    name = pc["metadata"].get("name", "")
    value, default = int(pc.get("value", 0)), bool(pc.get("globalDefault"))
    if name.startswith(SYSTEM_PREFIX):
        known = _SYSTEM.get(name)
        if known is None:
            err = f"{name} is not a known system priority class"
        elif known["value"] != value:
            err = f"value of {name} PriorityClass must be {known['value']}"
        elif default:
            err = f"globalDefault of {name} PriorityClass must be false"
        else:
            err = None
        if err:
            raise _invalid(name, "metadata.name", f"priority class names with '{SYSTEM_PREFIX}' prefix are "
                           f"reserved for system use only. error: {err}")
    elif value > HIGHEST_USER_DEFINABLE:
        raise _invalid(name, "value", f"maximum allowed value of a user defined priority is {HIGHEST_USER_DEFINABLE}")
    policy = pc.get("preemptionPolicy")
    if policy is not None and policy not in ("Never", PREEMPT):  # core validation ValidatePreemptionPolicy
        message = f'Unsupported value: "{policy}": supported values: "Never", "{PREEMPT}"'
        raise ApiError(422, "Invalid", f'PriorityClass.{GROUP} "{name}" is invalid: preemptionPolicy: {message}',
                       {"name": name, "group": GROUP, "kind": "PriorityClass",
                        "causes": [{"reason": "FieldValueNotSupported", "message": message,
                                    "field": "preemptionPolicy"}]})


def validate_class_update(old: dict, new: dict) -> None:
    name = old["metadata"]["name"]
    if new.get("value") != old.get("value"):
        raise _invalid(name, "value", "may not be changed in an update.")
    if new.get("preemptionPolicy") != old.get("preemptionPolicy"):
        message = f'Invalid value: "{new.get("preemptionPolicy")}": field is immutable'  # ValidateImmutableField
        raise ApiError(422, "Invalid", f'PriorityClass.{GROUP} "{name}" is invalid: preemptionPolicy: '
                       f'Invalid value: "{new.get("preemptionPolicy")}": field is immutable',
                       {"name": name, "group": GROUP, "kind": "PriorityClass",
                        "causes": [{"reason": "FieldValueInvalid", "message": message, "field": "preemptionPolicy"}]})


def _default_class(store) -> dict | None:
    """getDefaultPriorityClass: among globalDefault classes the one with the lowest value."""
    defaults = [pc for pc in store.list("priorityclasses") if pc.get("globalDefault")]
    return min(defaults, key=lambda pc: pc["value"]) if defaults else None


def admit_class(store, pc: dict, old: dict | None) -> None:
    """validatePriorityClass (validating admission): one globalDefault only."""
    if not pc.get("globalDefault"):
        return
    current = _default_class(store)
    name = pc["metadata"].get("name", "")
    if current is not None and (old is None or current["metadata"]["name"] != name):
        raise _forbidden(f"priorityclasses.{GROUP}", name, f"PriorityClass {current['metadata']['name']} is "
                         "already marked as default. Only one default can exist")


def check_delete(name: str) -> None:
    if name in _SYSTEM:
        raise _forbidden(f"priorityclasses.{GROUP}", name, "this is a system priority class and cannot be deleted")


# ---------------------------------------------------------------------- pods
def admit_pod_create(store, pod: dict) -> None:
    """admitPod on create: resolve the class into spec.priority and spec.preemptionPolicy."""
    spec = pod["spec"]
    name = pod["metadata"].get("name", "")
    class_name = spec.get("priorityClassName") or ""
    if not class_name:
        pc = _default_class(store)
        if pc is not None:
            spec["priorityClassName"] = pc["metadata"]["name"]
            priority, policy = pc["value"], pc.get("preemptionPolicy")
        else:
            spec.pop("priorityClassName", None)
            priority, policy = 0, PREEMPT
    else:
        pc = store.find("priorityclasses", None, class_name)
        if pc is None:
            raise _forbidden("pods", name, f"no PriorityClass with name {class_name} was found")
        priority, policy = pc["value"], pc.get("preemptionPolicy")
    if spec.get("priority") is not None and spec["priority"] != priority:
        raise _forbidden("pods", name, f"the integer value of priority ({spec['priority']}) must not be provided in "
                         f"pod spec; priority admission controller computed {priority} from the given PriorityClass name")
    spec["priority"] = priority
    if policy is not None:
        if spec.get("preemptionPolicy") is not None and spec["preemptionPolicy"] != policy:
            raise _forbidden("pods", name, f"the string value of PreemptionPolicy ({spec['preemptionPolicy']}) must "
                             f"not be provided in pod spec; priority admission controller computed {policy} from the "
                             "given PriorityClass name")
        spec["preemptionPolicy"] = policy


def admit_pod_update(old: dict, new: dict) -> None:
    """admitPod on update: a client that leaves out priority/preemptionPolicy keeps the stored ones."""
    spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
    for key in ("priority", "preemptionPolicy"):
        if spec.get(key) is None and old_spec.get(key) is not None:
            spec[key] = old_spec[key]
