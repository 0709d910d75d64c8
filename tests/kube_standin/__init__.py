"""kube_standin - a TEST DOUBLE for the Kubernetes API server and an AKS-like cluster.

Not for production.  It stands in for AKS where no Kubernetes can run (tests,
demos): a strict core/v1 API server (schema validation, resourceVersions,
list/watch with selectors, 404/409/410), a scheduler, a cluster-autoscaler
and kubelet model over node pools described in a YAML file, a clock that can
run faster than real time, and a ledger of node time per pool (the cost
model's T_n).  See docs/kube-standin.md.
"""

from .clock import FastClock, ManualClock
from .pools import ClusterConfig, load_config, load_file
from .server import KubeStandIn

__all__ = ["KubeStandIn", "FastClock", "ManualClock", "ClusterConfig", "load_config", "load_file"]
