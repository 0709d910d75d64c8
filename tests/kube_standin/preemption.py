"""The default scheduler's preemption (PostFilter) for one unschedulable pod.

Sources (github.com/kubernetes/kubernetes, pkg/scheduler/framework/):

* plugins/defaultpreemption/default_preemption.go: ``PostFilter`` prefixes the evaluator's message
  with "preemption: "; ``PodEligibleToPreemptOthers`` ("not eligible due to preemptionPolicy=Never.",
  "not eligible due to a terminating pod on the nominated node."); ``SelectVictimsOnNode`` (remove
  every lower-priority pod, "No preemption victims found for incoming pod" when there is none, then
  reprieve the most important ones first while the pod still fits);
* preemption/preemption.go: ``Preempt`` (only nodes whose filter failure is resolvable - Unschedulable,
  e.g. ``Insufficient cpu``, not UnschedulableAndUnresolvable such as node affinity or taints - are
  candidates; none -> a FitError whose other nodes read "Preemption is not helpful for scheduling"),
  ``pickOneNodeForPreemption`` (lowest highest-priority victim, lowest sum of priorities, fewest
  victims, latest start time, then the first node), ``PreemptPod`` (DisruptionTarget condition,
  delete, event ``Preempted`` "Preempted by pod <uid> on node <node>" on the victim, action
  "Preempting"), ``prepareCandidate`` (lower-priority pods nominated to that node lose their
  nomination);
* types.go ``FitError.Error``: reasons counted and sorted as strings (Go's sort.Strings).

Not modelled: PodDisruptionBudgets (no PDB exists in the stand-in: every candidate violates none),
extenders, inter-pod affinity, the random offset among more than 100 candidate nodes, asynchronous
preemption's goroutine (the victims go in the same scheduling cycle, before the preemptor's
FailedScheduling event).
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction

from .clock import rfc3339
from .priority import pod_priority
from .scheduling import misfit, pod_requests

NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
_RESOLVABLE = ("Insufficient ", "Too many pods")  # NodeResourcesFit: Unschedulable (the rest are Unresolvable)


def fit_error(total: int, reasons: list[str]) -> str:
    """types.go FitError.Error: "0/N nodes are available: 1 a, 2 b." (histogram sorted as strings)."""
    counts = Counter(reasons)
    return f"0/{total} nodes are available: " + ", ".join(sorted(f"{n} {r}" for r, n in counts.items())) + "."


def _more_important(pod: dict):
    """util.MoreImportantPod as a sort key: higher priority first, then the earlier start time."""
    return (-pod_priority(pod), (pod.get("status") or {}).get("startTime") or "")


def _terminating_by_preemption(pod: dict) -> bool:
    if "deletionTimestamp" not in pod["metadata"]:
        return False
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond["type"] == "DisruptionTarget":
            return cond["status"] == "True" and cond.get("reason") == "PreemptionByScheduler"
    return False


class Preemption:
    def __init__(self, cluster):
        self.cluster = cluster
        self._nominated: tuple[int, dict] = (-1, {})  # (store version, node -> [(uid, priority, requests)])

    def _nominations(self) -> dict:
        rv, index = self._nominated
        if rv != self.cluster.store.rv:
            index = {}
            for other in self.cluster.pending_pods():
                node = (other.get("status") or {}).get("nominatedNodeName")
                if node:
                    index.setdefault(node, []).append((other["metadata"]["uid"], pod_priority(other),
                                                       pod_requests(other)))
            self._nominated = (self.cluster.store.rv, index)
        return index

    def nominated_load(self, node: str, pod: dict) -> dict[str, Fraction]:
        """Requests of the other pods nominated to ``node`` with a priority >= ``pod``'s
        (RunFilterPluginsWithNominatedPods adds them to the node before filtering)."""
        total: Counter = Counter()
        uid, prio = pod["metadata"]["uid"], pod_priority(pod)
        for other_uid, other_prio, requests in self._nominations().get(node, ()):
            if other_uid != uid and other_prio >= prio:
                total.update(requests)
        return dict(total)

    def _fits(self, pod, state, free, requests) -> str | None:
        load = self.nominated_load(state.name, pod)
        room = {k: v - load.get(k, 0) for k, v in free.items()}
        return misfit(pod, state.name, self.cluster.labels_of(state.name), state.taints, room, requests)

    def _select_victims(self, pod: dict, state, requests) -> tuple[list[dict] | None, str]:
        prio = pod_priority(pod)
        running = self.cluster.pods_on(state.name)
        potential = [p for p in running if pod_priority(p) < prio]
        if not potential:
            return None, NO_VICTIMS
        free = dict(state.pool.allocatable)
        for p in running:
            if p not in potential:
                for k, v in pod_requests(p).items():
                    free[k] = free.get(k, 0) - v
        why = self._fits(pod, state, free, requests)
        if why:
            return None, why
        victims = []
        for p in sorted(potential, key=_more_important):  # reprieve the most important first
            trial = dict(free)
            for k, v in pod_requests(p).items():
                trial[k] = trial.get(k, 0) - v
            if self._fits(pod, state, trial, requests) is None:
                free = trial
            else:
                victims.append(p)
        return victims, ""

    @staticmethod
    def _pick(candidates: dict[str, list[dict]]) -> str:
        """pickOneNodeForPreemption's score functions, in order; ties -> the first node."""
        def start(victims):
            top = pod_priority(victims[0])
            times = [(v.get("status") or {}).get("startTime") or "" for v in victims if pod_priority(v) == top]
            return min(times)
        names = sorted(candidates)
        for score in (lambda n: -pod_priority(candidates[n][0]),
                      lambda n: -sum(pod_priority(v) + 2**31 for v in candidates[n]),
                      lambda n: -len(candidates[n]),
                      lambda n: start(candidates[n])):
            best = max(score(n) for n in names)
            names = [n for n in names if score(n) == best]
            if len(names) == 1:
                break
        return names[0]

    def post_filter(self, pod: dict, statuses: dict[str, str], t: float) -> tuple[str | None, str]:
        """Preempt for ``pod`` that fits no node (``statuses``: node -> the filter's reason).
        Returns the nominated node (or None) and the PostFilter message ("" on success)."""
        spec, status = pod["spec"], pod.get("status") or {}
        if spec.get("preemptionPolicy") == "Never":
            return None, "preemption: not eligible due to preemptionPolicy=Never."
        nominated = status.get("nominatedNodeName")
        if nominated and nominated in self.cluster.nodes and statuses.get(nominated, "").startswith(_RESOLVABLE):
            prio = pod_priority(pod)
            if any(pod_priority(p) < prio and _terminating_by_preemption(p) for p in self.cluster.pods_on(nominated)):
                return None, "preemption: not eligible due to a terminating pod on the nominated node."
        total = len(self.cluster.nodes)
        requests = pod_requests(pod)
        candidates, failed = {}, {}
        for name, why in sorted(statuses.items()):
            state = self.cluster.nodes.get(name)
            if state is None or not why.startswith(_RESOLVABLE):
                continue
            victims, why = self._select_victims(pod, state, requests)
            if victims:
                candidates[name] = victims
            else:
                failed[name] = why
        if not candidates:
            reasons = list(failed.values()) + [NOT_HELPFUL] * (total - len(failed))
            return None, "preemption: " + fit_error(total, reasons)
        node = self._pick(candidates)
        self._prepare(pod, node, candidates[node], t)
        return node, ""

    def _prepare(self, preemptor: dict, node: str, victims: list[dict], t: float) -> None:
        cluster, store = self.cluster, self.cluster.store
        scheduler = preemptor["spec"].get("schedulerName", "default-scheduler")
        for victim in victims:
            if "deletionTimestamp" in victim["metadata"]:
                continue  # graceful deletion already started
            ns, name = victim["metadata"]["namespace"], victim["metadata"]["name"]

            def disrupt(p):
                conds = [c for c in p["status"].get("conditions", []) if c["type"] != "DisruptionTarget"]
                conds.append({"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler",
                              "message": f"{scheduler}: preempting to accommodate a higher priority pod",
                              "lastTransitionTime": rfc3339(t)})
                p["status"]["conditions"] = conds
            victim = store.update("pods", ns, name, disrupt)
            cluster.delete_pod(ns, name, None)
            cluster.events.scheduler(victim, "Normal", "Preempted", "Preempting",
                                     f"Preempted by pod {preemptor['metadata']['uid']} on node {node}", t)
        prio = pod_priority(preemptor)
        for other in cluster.pending_pods():
            if (other.get("status") or {}).get("nominatedNodeName") == node and pod_priority(other) < prio:
                store.update("pods", other["metadata"]["namespace"], other["metadata"]["name"],
                             lambda p: p["status"].pop("nominatedNodeName", None))
