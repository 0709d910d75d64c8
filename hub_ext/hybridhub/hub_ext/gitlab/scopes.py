"""The one list of OAuth scopes the hub's GitLab application is registered with and asks for.

GitLab (Doorkeeper) refuses a login that asks for any scope the application was not registered
with (``error=invalid_scope``), so the authenticator's default ``scope``, the AKS helm values and
the registration instructions in the admin docs (en/ja) and README must name exactly these; the
deploy tests check that they do.
"""

SCOPES: tuple[str, ...] = (
    "read_user",  # who logs in (GET /user)
    "api",  # their groups and projects, merge requests, pipelines
    "write_repository",  # git push and pull over HTTPS with the token
)
