"""The hub's own choices: the spawner's profile list and the GitLab authenticator."""

from __future__ import annotations

from .check import FAIL, PASS, Context, Result, configured
from .classes import hub_class, qualname


def profile_list_is_catalog(context: Context) -> Result:
    """User servers start from the profile catalog, not from a list set elsewhere.

    zero-to-jupyterhub sets ``c.KubeSpawner.profile_list`` from ``singleuser.profileList``; a
    non-empty one replaces the catalog's profiles (spawns then fail with "No such profile").
    """
    name = "profile-list"
    spawner = hub_class(context, "spawner_class", "jupyterhub.spawners")
    if "catalog" not in spawner.class_traits():
        return Result(name, FAIL, "saw_spawner_class", {"cls": qualname(spawner)}, "fix_spawner_class")
    value = configured(context.config, spawner, "profile_list")
    if value is None or (isinstance(value, list) and not value):
        # unset, or the chart's []: HybridKubeSpawner serves the catalog (its profile_list validator)
        return Result(name, PASS, "saw_profile_list_catalog", {"cls": qualname(spawner)})
    slugs = [str(p.get("slug") or p.get("display_name")) for p in value] if isinstance(value, list) else []
    where = [s for s in spawner.section_names() if s in context.config and "profile_list" in context.config[s]]
    return Result(name, FAIL, "saw_profile_list_overridden",
                  {"where": f"c.{where[-1]}.profile_list", "what": ", ".join(slugs) if slugs else type(value).__name__},
                  "fix_profile_list")


def authenticator_hands_token_over(context: Context) -> Result:
    """The GitLab login keeps the user's token (auth state) and asks for the registered scopes."""
    from hybridhub.hub_ext.gitlab.authenticator import HybridGitLabOAuthenticator
    from hybridhub.hub_ext.gitlab.scopes import SCOPES

    name = "authenticator"
    cls = hub_class(context, "authenticator_class", "jupyterhub.authenticators")
    if not issubclass(cls, HybridGitLabOAuthenticator):
        return Result(name, FAIL, "saw_authenticator_class", {"cls": qualname(cls)}, "fix_authenticator_class")
    authenticator = cls(config=context.config)  # its effective traits, defaults included
    scopes = list(authenticator.scope)
    if sorted(scopes) != sorted(SCOPES):
        return Result(name, FAIL, "saw_scopes", {"scopes": " ".join(scopes) or "-", "expected": " ".join(SCOPES)},
                      "fix_scopes")
    if not authenticator.enable_auth_state or not context.environ.get("JUPYTERHUB_CRYPT_KEY"):
        # without auth state (and its key) the GitLab token is not kept, so it never reaches servers
        return Result(name, FAIL, "saw_auth_state",
                      {"enabled": authenticator.enable_auth_state,
                       "key": "JUPYTERHUB_CRYPT_KEY" in context.environ}, "fix_auth_state")
    return Result(name, PASS, "saw_authenticator_ok", {"cls": qualname(cls), "scopes": " ".join(scopes)})
