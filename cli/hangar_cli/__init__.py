"""The ``hangar`` command line: a client of Hangar's management API (/api/v1/), nothing more.

It imports no part of the platform: everything it does, a script could do over HTTP with
a personal access token.
"""

__version__ = "0.1.0"
