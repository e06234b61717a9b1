"""Admission: which app a request is for, as whom, and whether it may proceed now.

Every entry point of the data plane calls this package the same way: the Parse HTTP
gateway today, the LiveQuery WebSocket, the cloud-code runtime's calls back into the
platform and build agents next. Each turns what its wire carries into ``Credentials``
and gets back an ``AuthContext`` (the app record with its plan limits, and the
``Caller`` the data services act for), after the app's keys, the session, the roles, the
rate limit and the per-app version counters were resolved in one Redis round trip.

* ``registry``: the app, its keys and plan, cached per process and re-read when its
  version counter moves; the rate-limit windows (the app's for keyed requests, the
  address's for keyless ones); unknown application ids remembered briefly.
* ``batch``: one Redis round trip for the requests of an app that arrive together.
* ``callers``: the key rules (master, client keys), the session and role resolution, and
  the resulting ``Caller``.

It knows no wire protocol: it imports neither the gateway nor the dashboard
(import-linter contract in pyproject.toml).
"""
