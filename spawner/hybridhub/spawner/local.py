"""HybridLocalSpawner: hybridhub's spawner on one machine, for the demo and the tests.

It runs each user's server as a local process under the hub's own account (like JupyterHub's
SimpleLocalProcessSpawner, so no system users are needed), with a home directory per user,
the same profiles and idle policy as the Kubernetes spawner, and the same ``HYBRIDHUB_*``
environment a pod gets. Not for multi-tenant production: users share one account.
"""

from __future__ import annotations

import os
import sys

from jupyterhub.spawner import SimpleLocalProcessSpawner
from tornado import web
from traitlets import Instance, Unicode, default

from .choice import ProfileNotAllowed, choose_profile, profile_env, user_groups
from .form import options_from_form, render_form
from .profiles import Profile, ProfileCatalog
from .settings import HybridSpawner


class HybridLocalSpawner(HybridSpawner, SimpleLocalProcessSpawner):
    """Local-process variant of the hybridhub spawner."""

    catalog = Instance(ProfileCatalog, help="The profile catalog (configure with c.ProfileCatalog.*).")
    language = Unicode("en", config=True, help="Language of the spawn form and messages: en or ja.")

    @default("catalog")
    def _default_catalog(self):
        return ProfileCatalog(parent=self)

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

    @default("options_form")
    def _default_options_form(self):
        return self._render_form

    @default("apply_user_options")
    def _default_apply_user_options(self):
        return HybridLocalSpawner._apply_profile

    def _allowed(self) -> list[Profile]:
        return self.catalog.for_user(user_groups(self.user), bool(getattr(self.user, "admin", False)))

    def _render_form(self, spawner) -> str:
        profiles = self._allowed()
        if len(profiles) <= 1:
            return ""  # nothing to choose: start straight away
        default = choose_profile(self.catalog, self.user, None).slug
        etas = {p.slug: p.pool.usual_cold_start_seconds for p in profiles}
        return render_form(profiles, default, etas, self.warm_on_intent_service)

    def options_from_form(self, formdata):
        options = options_from_form(formdata)
        # refuse a forged value here too, so the form shows the reason
        choose_profile(self.catalog, self.user, options["profile"], options["lang"])
        return options

    @staticmethod
    def _apply_profile(spawner: "HybridLocalSpawner", user_options: dict) -> None:
        try:
            language = (user_options or {}).get("lang") or spawner.language
            spawner._profile = choose_profile(spawner.catalog, spawner.user, (user_options or {}).get("profile"), language)
        except ProfileNotAllowed as e:
            raise web.HTTPError(403, str(e), reason=str(e)) from None

    @property
    def profile(self) -> Profile:
        return getattr(self, "_profile", None) or choose_profile(self.catalog, self.user, None)

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
        env.update(profile_env(self.profile))
        return env
