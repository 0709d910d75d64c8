"""The commit & push panel's server side: async git, GitLab merge requests and clone."""
