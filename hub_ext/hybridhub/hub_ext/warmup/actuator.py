"""The placeholders' way into the Kubernetes API (:class:`.manifest.PlaceholderActuator`).

kubernetes_asyncio, as the cost service and KubeSpawner talk to the cluster; the caller gives the
``ApiClient`` (the cost service's ``kube_api`` in the hub, the stand-in's URL in tests).  Answers are
handed on as plain dicts in the API's own field names (``ApiClient.sanitize_for_serialization``).
Only what the warm-up needs: its PriorityClass, its own pods (label ``hybridhub/warmup=true``),
the user pods on a node, and the scheduler's ``Preempted`` events of a placeholder.
"""

from __future__ import annotations

from .manifest import POOL_LABEL, WARMUP_LABEL

# KubeSpawner's default label of user pods (kubespawner/spawner.py, ``component_label``)
USER_POD_LABELS = {"component": "singleuser-server"}


class KubePlaceholders:
    """Creates and deletes placeholder pods; every "already there" / "already gone" is success."""

    def __init__(self, api_client):
        from kubernetes_asyncio import client

        self.api_client = api_client
        self.core = client.CoreV1Api(api_client)
        self.scheduling = client.SchedulingV1Api(api_client)

    async def ensure_priority_class(self, body: dict) -> None:
        from kubernetes_asyncio.client.exceptions import ApiException

        try:
            await self.scheduling.create_priority_class(body)
        except ApiException as e:
            if e.status != 409:  # AlreadyExists: value and policy are immutable, so it is ours as it was
                raise

    async def ensure(self, manifest: dict) -> None:
        from kubernetes_asyncio.client.exceptions import ApiException

        try:
            await self.core.create_namespaced_pod(manifest["metadata"]["namespace"], manifest)
        except ApiException as e:
            if e.status != 409:
                raise

    async def remove(self, name: str, namespace: str) -> None:
        from kubernetes_asyncio.client.exceptions import ApiException

        try:  # the placeholders' grace period is 0 anyway (manifest.py): gone at once
            await self.core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
        except ApiException as e:
            if e.status != 404:
                raise

    async def existing(self, namespace: str) -> list[dict]:
        answer = await self.core.list_namespaced_pod(namespace, label_selector=f"{WARMUP_LABEL}=true")
        return self._plain(answer.items)

    async def user_pods_running_on(self, node: str, pool: str, namespace: str) -> list[dict]:
        """The pool's user pods Running on ``node`` (hybridhub labels each user pod with its pool)."""
        return await self._user_pods(pool, namespace, f"spec.nodeName={node},status.phase=Running")

    async def user_pods_unscheduled(self, pool: str, namespace: str) -> list[dict]:
        """The pool's user pods not yet on a node (``spec.nodeName`` empty: waiting for one)."""
        return await self._user_pods(pool, namespace, "spec.nodeName=,status.phase=Pending")

    async def user_pods(self, pool: str, namespace: str) -> list[dict]:
        """The pool's user pods, whatever their phase."""
        return await self._user_pods(pool, namespace, None)

    async def _user_pods(self, pool: str, namespace: str, fields: str | None) -> list[dict]:
        labels = ",".join(f"{k}={v}" for k, v in {**USER_POD_LABELS, POOL_LABEL: pool}.items())
        if fields is None:
            answer = await self.core.list_namespaced_pod(namespace, label_selector=labels)
        else:
            answer = await self.core.list_namespaced_pod(namespace, label_selector=labels, field_selector=fields)
        return self._plain(answer.items)

    async def preempted(self, name: str, namespace: str) -> dict | None:
        """The scheduler's ``Preempted`` event of pod ``name`` ("Preempted by pod <uid> on node <node>"), if any."""
        answer = await self.core.list_namespaced_event(
            namespace, field_selector=f"involvedObject.name={name},reason=Preempted")
        items = self._plain(answer.items)
        return items[-1] if items else None

    def _plain(self, items) -> list[dict]:
        return [self.api_client.sanitize_for_serialization(i) for i in items or []]
