"""What a check is: a function ``Context -> Result``; and the one list of them, in report order."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from traitlets.config import Config
from traitlets.config.loader import LazyConfigValue

PASS, WARN, FAIL = "pass", "warn", "fail"


@dataclass
class Context:
    """The hub's effective configuration (``app.config`` after loading) and its environment."""

    config: Config
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


@dataclass(frozen=True)
class Result:
    """One check's verdict. ``saw`` and ``fix`` are message keys of :mod:`.i18n` with their values,
    so the report reads in English or Japanese; ``fix`` is ``None`` when there is nothing to do."""

    check: str
    status: str
    saw: str
    values: dict[str, Any] = field(default_factory=dict)
    fix: str | None = None


Check = Callable[[Context], Result]


def configured(config: Config, cls: type, name: str, missing: Any = None) -> Any:
    """The value ``config`` gives trait ``name`` of ``cls`` (``missing`` when none does).

    traitlets loads a class's config from its sections base first, so ``c.KubeSpawner.x`` is
    overridden by ``c.HybridKubeSpawner.x``: the last section that sets it wins, as here; an
    ``.update()``/``.append()`` on a section is applied to what the earlier ones gave.
    """
    value = missing
    for section in cls.section_names():
        if section in config and name in config[section]:
            given = config[section][name]
            if isinstance(given, LazyConfigValue):  # c.KubeSpawner.environment.update(...) and the like
                start = value if value is not missing else {} if "update" in given.to_dict() else []
                given = given.get_value(copy.deepcopy(start))
            value = given
    return value
