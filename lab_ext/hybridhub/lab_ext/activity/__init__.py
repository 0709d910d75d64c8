"""Activity of a user server, reported to the hybridhub culler with the server's own token (see docs/culling.md).

``registry`` is the public part for other modules: ``with registry.begin("storage-transfer"):``.
"""

from . import registry

__all__ = ["registry"]
