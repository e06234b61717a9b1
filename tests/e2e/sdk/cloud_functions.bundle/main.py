"""Cloud code of the cloud_functions SDK suite (deployed to app A before the suite runs)."""

import datetime

from hangar_cloud import ParseError, define
from helpers import shout


@define("hello")
def hello(request):
    return f"Hello {request.params['name']}"


@define("shout")
def loud(request):
    return shout(request.params.get("text", ""))


@define("echo")
async def echo(request):
    return {"params": request.params, "master": request.master, "context": request.context}


@define("whoami")
def whoami(request):
    return request.user["objectId"] if request.user else None


@define("coded")
def coded(request):
    raise ParseError(3001, "custom failure")


@define("broken")
def broken(request):
    return 1 / 0


@define("when")
def when(request):
    return datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)


@define("note")
def note(request):
    """Saves in the caller's scope: the object belongs to (and is readable by) the caller only."""
    owner = request.user["objectId"]
    acl = {owner: {"read": True, "write": True}}
    return request.data.save("CloudNote", {"text": request.params["text"], "ACL": acl})


@define("countNotes")
def count_notes(request):
    return {
        "mine": request.data.count("CloudNote"),
        "all": request.data.count("CloudNote", use_master=True),
    }


@define("relay")
def relay(request):
    return request.data.run("hello", {"name": request.params["name"]})


@define("total")
def total(request, *, price: float, count: int = 1) -> float:
    return price * count
