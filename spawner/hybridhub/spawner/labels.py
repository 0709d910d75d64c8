"""The pod labels hybridhub's parts agree on: one place, no dependencies, importable by every side.

The spawner puts the profile and pool labels on each user pod (:mod:`.pod`); the hub's warm-up
(``hybridhub.hub_ext.warmup.manifest``) puts the warm-up, pool and profile labels on its placeholder
pods; the spawner reads the placeholders back by these labels to tell a user that a node was warmed
up for them (:mod:`.warm`), and the warm-up finds the user pods on its nodes by them.
"""

from __future__ import annotations

PROFILE_LABEL = "hybridhub/profile"  # the profile slug: on user pods and placeholders
POOL_LABEL = "hybridhub/pool"  # the node pool's name: on user pods and placeholders
WARMUP_LABEL = "hybridhub/warmup"  # "true" on the warm-up's placeholder pods only
