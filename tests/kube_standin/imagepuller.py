"""The kubelet's image puller: one pull at a time per node, a pull already asked for is not repeated.

The kubelet's default is ``serializeImagePulls: true`` (KubeletConfiguration; AKS keeps it): its
``serialImagePuller`` (kubernetes pkg/kubelet/images/puller.go) takes pull requests from one queue and
runs them one after the other in a single goroutine, so an image asked for while another is being
pulled waits for it. Its image manager (pkg/kubelet/images/image_manager.go, EnsureImageExists) checks
first whether the image is present (``imagePullPolicy: IfNotPresent``: "already present on machine", no
pull) and reports the pull as ``Successfully pulled image "…" in <pull> (<since asked> including
waiting)``.

A request for an image that another request on the node is already pulling (or waits to pull) is
queued like any other; when its turn comes the image is on the node and the CRI PullImage returns at
once (containerd has every layer: no second download; the few milliseconds of that call are not
modelled), so that pod waits for the first pull and for whatever was queued between. A pull goes on
when the pod that asked for it is deleted (the puller's loop does not cancel it); it ends with the node.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

__all__ = ["ImagePuller"]


@dataclass
class PullJob:
    image: str
    seconds: float
    ok: bool  # False: the image does not exist (ErrImagePull after ``seconds``)
    done: object  # callback(due, ok, pull_seconds)


class ImagePuller:
    """Per-node FIFO of pull requests (serialImagePuller), driven by the cluster's clock."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.queues: dict[str, deque] = {}  # node name -> requests, the first one being pulled

    def queued(self, node_name: str) -> list[str]:
        """The images asked for on a node and not pulled yet, in order (the first is being pulled)."""
        return [job.image for job in self.queues.get(node_name, ())]

    def request(self, node, image: str, seconds: float, ok: bool, t: float, done) -> None:
        """Ask for ``image`` on ``node``; ``done(due, ok, pull_seconds)`` once pulled (or failed)."""
        queue = self.queues.setdefault(node.name, deque())
        queue.append(PullJob(image, seconds, ok, done))
        if len(queue) == 1:
            self._start(node, t)

    def _start(self, node, t: float) -> None:
        job = self.queues[node.name][0]
        if job.ok and job.image in node.images:
            job.seconds = 0.0  # pulled meanwhile by an earlier request: nothing to download
        self.cluster.clock.call_at(t + job.seconds, lambda due: self._finish(node, job, due))

    def _finish(self, node, job: PullJob, t: float) -> None:
        if self.cluster.nodes.get(node.name) is not node:
            self.queues.pop(node.name, None)  # the node is gone, and its pulls with it
            return
        queue = self.queues[node.name]
        queue.popleft()
        if job.ok:
            node.images.add(job.image)
        job.done(t, job.ok, job.seconds)
        if queue:
            self._start(node, t)
        else:
            self.queues.pop(node.name, None)
