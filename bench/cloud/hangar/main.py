"""The benchmark's cloud code on Hangar: the same two handlers as bench/cloud/parse/main.js.

``hello`` answers a greeting; the ``Guarded`` beforeSave checks ``score`` and sets
``checked``. Deployed by bench/run.py with ``manage.py cloud_deploy`` when a cloud
workload is selected. The cold-start rounds redeploy this file with ``GREETING``
replaced, so that each round is a new version whose answer names it.
"""

from hangar_cloud import ParseError, Request, before_save, define

GREETING = "Hello"


@define("hello")
def hello(request: Request) -> str:
    return f"{GREETING} {request.params.get('name', 'world')}"


@before_save("Guarded")
def guard(request: Request) -> None:
    score = request.object.get("score")
    if not isinstance(score, (int, float)) or isinstance(score, bool) or score < 0:
        raise ParseError(142, "score must be a number >= 0")
    request.object["checked"] = True
