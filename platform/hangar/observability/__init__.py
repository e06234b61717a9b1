"""What an operator watches: Prometheus metrics, health endpoints, structured logs.

* ``metrics``: the process's Prometheus registry (request rate and latency per route class
  and status, data-plane pool, admission's Redis round trips, Celery queue lengths,
  LiveQuery connections, sandbox workers, analytics buffer);
* ``endpoints``: ``GET /metrics`` (token- or loopback-protected), ``/healthz`` (liveness)
  and ``/readyz`` (readiness: PostgreSQL and Redis answer), served before Django;
* ``logs``: JSON log lines carrying the request id of the Parse request or Celery task.

It knows the platform's pools and hubs only to read their sizes; nothing imports it but
the ASGI entry point, the gateway (to time requests) and the Celery app.
"""
