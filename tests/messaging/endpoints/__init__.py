"""Local servers that speak the providers' real protocols, for the adapter tests and the push benchmark.

Each checks what the real service checks (authentication, headers, payload shape), answers
with the real service's error bodies, can be told to fail the way the real one does
(an unregistered token, a 503 with Retry-After), and records what it accepted so tests assert
on it. Each runs in a thread of the test process (``start()`` / ``stop()``) or as a process of
its own (``python -m tests.messaging.endpoints.fcm --port N``) for ``bench/``.
"""
