"""How the cost service finds the API server and its namespace inside the hub pod.

JupyterHub starts a managed service with a bare environment (jupyterhub/services/service.py:
``env = {}; env.update(self.environment)`` plus JUPYTERHUB_* variables), so the service cannot
count on KUBERNETES_SERVICE_HOST or POD_NAMESPACE; every pod with a service account has its
token, CA and namespace files under /var/run/secrets/kubernetes.io/serviceaccount/.
"""

from __future__ import annotations

import pytest

from hybridhub.hub_ext.cost import service
from hybridhub.hub_ext.cost.service import CostService, in_cluster_environ

pytestmark = pytest.mark.cost


def test_service_variables_win():
    env = in_cluster_environ({"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}, True)
    assert env["KUBERNETES_SERVICE_HOST"] == "10.0.0.1"


def test_a_bare_environment_in_a_pod_uses_the_cluster_dns_name():
    env = in_cluster_environ({"PATH": "/usr/bin"}, True)
    assert (env["KUBERNETES_SERVICE_HOST"], env["KUBERNETES_SERVICE_PORT"]) == ("kubernetes.default.svc", "443")


def test_outside_a_cluster_no_in_cluster_config():
    assert in_cluster_environ({"PATH": "/usr/bin"}, False) is None


def test_namespace_from_the_service_account_when_not_handed_over(tmp_path, monkeypatch):
    monkeypatch.delenv("POD_NAMESPACE", raising=False)
    ns_file = tmp_path / "namespace"
    ns_file.write_text("jhub")
    monkeypatch.setattr(service, "SERVICE_ACCOUNT_NAMESPACE", str(ns_file))
    assert CostService().namespace == "jhub"
    monkeypatch.setenv("POD_NAMESPACE", "other")
    assert CostService().namespace == "other"
    monkeypatch.delenv("POD_NAMESPACE")
    monkeypatch.setattr(service, "SERVICE_ACCOUNT_NAMESPACE", str(tmp_path / "missing"))
    assert CostService().namespace == "default"
