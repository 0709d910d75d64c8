"""Where the demo keeps its data and which loopback ports it uses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .objectstore import StorePorts

DEMO_USERS = ("alice", "bob")
DEMO_ADMIN = "admin"
SAMPLE_BUCKET = "datasets"  # shared, read-only for users


def demo_usernames() -> tuple[str, ...]:
    """Everyone who logs in to the demo, each with an own store identity and bucket."""
    return (*DEMO_USERS, DEMO_ADMIN)


@dataclass(frozen=True)
class DemoPorts:
    """All ports derive from one base so that ``--port`` moves them together."""

    public: int
    proxy_api: int
    hub: int
    store: StorePorts
    kube: int  # the Kubernetes stand-in, with --kube
    culler: int  # the idle-culler service
    cost: int  # the cost service, with --kube
    mlflow: int  # the model registry (a real MLflow tracking server)

    SPAN = 17  # ports used from the base

    @classmethod
    def from_base(cls, base: int) -> "DemoPorts":
        return cls(public=base, proxy_api=base + 1, hub=base + 2, store=StorePorts.from_base(base + 3),
                   kube=base + 13, culler=base + 14, cost=base + 15, mlflow=base + 16)

    def named(self) -> dict[int, str]:
        """Each port with what it is for, for error messages."""
        names = {self.public: "the hub's public URL", self.proxy_api: "the proxy's API", self.hub: "the hub's API",
                 self.kube: "the Kubernetes stand-in (--kube)", self.culler: "the idle-culler service",
                 self.cost: "the cost service (--kube)"}
        for port in self.store.all():
            names[port] = "the embedded object store"
        return names


@dataclass(frozen=True)
class DemoPaths:
    root: Path

    @property
    def lock(self) -> Path:
        return self.root / "demo.lock"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets.json"

    @property
    def storage_keys(self) -> Path:
        """Each user's store keys, read by the spawner (HybridSpawner.storage_credentials_file)."""
        return self.root / "storage-keys.json"

    @property
    def hub(self) -> Path:
        return self.root / "hub"

    @property
    def store(self) -> Path:
        return self.root / "objectstore"

    @property
    def users(self) -> Path:
        return self.root / "users"

    @property
    def git(self) -> Path:
        return self.root / "git"

    @property
    def mlflow(self) -> Path:
        """The model registry's data: mlflow.db (runs, registered models) and mlflow-artifacts/."""
        return self.root / "mlflow"

    @property
    def mlflow_admin(self) -> Path:
        """The model registry's administrator credential (0600): read by the demo's hub side only."""
        return self.root / "mlflow-admin.json"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def user_home(self, username: str) -> Path:
        return self.users / username

    def git_remote(self, username: str) -> Path:
        return self.git / f"{username}.git"
