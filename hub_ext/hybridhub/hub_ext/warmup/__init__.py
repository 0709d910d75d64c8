"""Predictive warm-up of GPU nodes within the month's budget (issue 21).

- :mod:`.history`: every GPU start, kept as JSON Lines (who, profile, pool, when, cold, wait);
  written by the spawner (:mod:`hybridhub.spawner.starts`), re-exported here;
- :mod:`.calendar`: the site's working days and holidays;
- :mod:`.predict`: the next working day's likely starts and the warm windows they need;
- :mod:`.budget_stop`: which windows the month's budget leaves room for, and why others are dropped;
- :mod:`.plan`: the day's plan as JSON for an admin page;
- :mod:`.intent`: warming on a GPU profile chosen on the spawn form;
- :mod:`.manifest`: the placeholder pod (and its PriorityClass) that keeps a node warm;
- :mod:`.settings`: ``c.WarmupPolicy.*``;
- :mod:`.schedule`: the next working day's plan from the configuration, and its placeholder pods;
- :mod:`.actuator`: the placeholders' Kubernetes client (kubernetes_asyncio);
- :mod:`.actuator_runner`: a day's placeholders created, used, released or removed, one tick at a time;
- :mod:`.actuator_log`: every warm-up with its cost and the wait it saved, as JSON Lines.
"""
