"""Which profile a spawn request asks for, and whether this user may have it."""

from __future__ import annotations

from . import envvars
from .messages import message
from .profiles import Profile, ProfileCatalog


class ProfileNotAllowed(ValueError):
    """The requested profile does not exist or the user may not use it (e.g. a forged form)."""


def user_groups(user) -> set[str]:
    return {getattr(g, "name", g) for g in (getattr(user, "groups", None) or [])}


def choose_profile(catalog: ProfileCatalog, user, slug: str | None, language: str = "en") -> Profile:
    allowed = catalog.for_user(user_groups(user), bool(getattr(user, "admin", False)))
    if not slug:
        default = catalog.default_profile()
        return default if default in allowed else allowed[0]
    for profile in allowed:
        if profile.slug == slug:
            return profile
    names = ", ".join(p.slug for p in allowed)
    raise ProfileNotAllowed(message("forbidden_profile", language, slug=str(slug)[:64], allowed=names))


def profile_env(profile: Profile) -> dict[str, str]:
    """The profile's policy, for the server extension and the culler."""
    return {
        envvars.PROFILE.name: profile.slug,
        envvars.IDLE_TIMEOUT.name: str(profile.idle_timeout_seconds),
        envvars.MAX_AGE.name: str(profile.max_age_seconds),
    }


def price_line(profile: Profile, eta_seconds: float, language: str = "en") -> str:
    minutes = max(1, round(eta_seconds / 60))
    if language == "ja":
        return f"1 時間あたり ¥{profile.price_per_hour:,.2f}・停止状態から通常約 {minutes} 分で起動"
    return f"¥{profile.price_per_hour:,.2f} per hour · usually ready in about {minutes} min from zero"
