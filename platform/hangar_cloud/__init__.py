"""Hangar cloud code: the API a tenant's bundle imports.

A bundle's ``main.py`` registers handlers with these decorators; Hangar runs the bundle
inside a bubblewrap sandbox (docs/cloudcode.md) and calls the handlers over an RPC
channel. This package runs *inside* the sandbox, on the interpreter's standard library
alone: it never imports Django or the platform.

    from hangar_cloud import define, before_save, ParseError

    @define("hello")
    def hello(request):
        return f"Hello {request.params['name']}"
"""

from hangar_cloud._data import DataClient, data
from hangar_cloud._errors import ParseError, ValidationError
from hangar_cloud._registry import (
    after_delete,
    after_delete_file,
    after_find,
    after_login,
    after_logout,
    after_save,
    after_save_file,
    before_delete,
    before_delete_file,
    before_find,
    before_login,
    before_save,
    before_save_file,
    define,
    job,
)
from hangar_cloud._request import CloudObject, CloudQuery, Log, Request

__all__ = [
    "CloudObject",
    "CloudQuery",
    "DataClient",
    "Log",
    "ParseError",
    "Request",
    "ValidationError",
    "after_delete",
    "after_delete_file",
    "after_find",
    "after_login",
    "after_logout",
    "after_save",
    "after_save_file",
    "before_delete",
    "before_delete_file",
    "before_find",
    "before_login",
    "before_save",
    "before_save_file",
    "data",
    "define",
    "job",
]
