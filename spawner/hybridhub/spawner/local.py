"""HybridLocalSpawner: hybridhub's spawner on one machine, for the demo and the tests.

It runs each user's server as a local process under the hub's own account (like JupyterHub's
SimpleLocalProcessSpawner, so no system users are needed), with a home directory per user
and the same ``HYBRIDHUB_*`` environment the Kubernetes spawner gives a pod.
"""

from __future__ import annotations

import os
import sys

from jupyterhub.spawner import SimpleLocalProcessSpawner
from traitlets import default

from .settings import HybridSpawner


class HybridLocalSpawner(HybridSpawner, SimpleLocalProcessSpawner):
    """Local-process variant of the hybridhub spawner (not for multi-tenant production)."""

    @default("cmd")
    def _default_cmd(self):
        # The venv's interpreter, so the demo works without an activated virtualenv.
        return [sys.executable, "-m", "jupyterhub.singleuser"]

    @default("default_url")
    def _default_default_url(self):
        return "/lab"

    @default("notebook_dir")
    def _default_notebook_dir(self):
        return self.home_dir

    def get_args(self):
        args = super().get_args()
        # As root, jupyter-server refuses to start without --allow-root and the hub only
        # reports an opaque 500; the demo and tests commonly run as root in containers.
        if os.geteuid() == 0 and "--allow-root" not in args:
            args.append("--allow-root")
        return args

    def get_env(self):
        env = super().get_env()
        env.update(self.hybrid_env(self.user.name))
        return env
