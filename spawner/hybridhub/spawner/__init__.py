"""hybridhub spawners: profiles for scale-from-zero user pools, the Kubernetes spawner and its local variant.

Kept import-light on purpose: the server extension imports :mod:`hybridhub.spawner.envvars`
inside every user server, where kubespawner need not be loaded.
"""
