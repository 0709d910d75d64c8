"""``hybridhub demo``: the whole platform on one machine, no Kubernetes and no GitLab."""
