"""Analytics events and usage metering.

* ``ingest`` + ``buffer``: ``POST /parse/events/:eventName`` validated and queued in a
  per-process buffer, written in batches (one multi-row INSERT per app and flush) by the data plane.
* ``rollups``: hourly and daily counts per app, event and dimensions, recomputed by Celery.
* ``selectors``: counts over time, by dimension, unique users and installations, funnels
  and retention cohorts, for the dashboard.
* ``metering`` + ``quotas``: per-app usage (requests counted at admission in Redis, storage,
  events, LiveQuery connections) collected into ``UsageRecord`` rows, plan limits, the 80%
  warning.

Domain code: it imports neither the Parse gateway nor the dashboard (pyproject.toml).
"""
