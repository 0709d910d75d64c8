"""hybridhub's culler service: per-profile idle timeout and max age, judged from real activity.

Run as a JupyterHub service with ``python -m hybridhub.hub_ext.culler``; see docs/culling.md.
"""
