"""Activity report of a user server, read by the hybridhub culler (see docs/culling.md).

``registry`` is the public part for other modules: ``with registry.begin("storage-transfer"):``.
"""

from . import registry

__all__ = ["registry"]
