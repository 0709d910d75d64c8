"""Launch and watch CI/CD pipelines from JupyterLab.

Two backends behind one interface (:class:`~.backend.PipelineBackend`): GitLab through
python-gitlab with the user's token, and a local one that runs the repository's
``.gitlab-ci.yml`` with gitlab-ci-local in the shell. Handlers in :mod:`.handlers` are thin.
"""
