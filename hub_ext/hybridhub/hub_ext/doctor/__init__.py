"""``hybridhub doctor``: checks of the hub's *effective* configuration, each with what it saw and the fix.

A check is a small function over a :class:`~.check.Context` (the configuration JupyterHub built
from the hub's ``jupyterhub_config.py``, and the hub container's environment) returning a
:class:`~.check.Result`. Nothing a check reports holds a secret: it names settings and files,
never their secret values.
"""
