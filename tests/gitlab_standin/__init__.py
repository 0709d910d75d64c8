"""A TEST DOUBLE of GitLab: the OAuth provider, the v4 REST subset hybridhub uses, and
smart-HTTP git through the real ``git http-backend``.

It is not GitLab. It speaks GitLab's documented shapes for exactly the endpoints hybridhub
(and oauthenticator's GitLabOAuthenticator) call, and it is strict: an unknown path, method
or query parameter is answered 400/404/405 *and* recorded in ``GitLabStandIn.violations`` so
the test that caused it fails. Bad or expired tokens get GitLab's 401 answers.

More of GitLab is added per test: ``pipelines.install`` (CI/CD: pipelines, jobs driven by the test
as the runner), ``environments.install`` after it (environments, deployments, tag creation),
``mlflow.install`` (the model registry's MLflow API subset and its files).
"""

from .server import GitLabStandIn
from .state import Group, Project, User

__all__ = ["GitLabStandIn", "Group", "Project", "User"]
