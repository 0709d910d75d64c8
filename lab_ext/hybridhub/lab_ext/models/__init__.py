"""The Models panel's server side (issue 19): the model registry read over the MLflow client API,
each version's lineage, which version serves production (the environment), and promote, roll back
and reproduce driven through the pipeline backends. See docs/models.md."""
