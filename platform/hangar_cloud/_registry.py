"""The handlers a bundle registers, by kind and name (functions, triggers per class, jobs).

Trigger kinds use Parse Server's names (``beforeSave`` ...), and file triggers use its
class name ``@File``, so the webhook API and the Parse Dashboard speak of them as Parse does.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

Handler = Callable[..., Any]

FILE_CLASS = "@File"
TRIGGER_KINDS = (
    "beforeSave", "afterSave", "beforeDelete", "afterDelete", "beforeFind", "afterFind",
    "beforeLogin", "afterLogin", "afterLogout",
)  # fmt: skip

functions: dict[str, Handler] = {}
triggers: dict[tuple[str, str], Handler] = {}
jobs: dict[str, Handler] = {}


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 128:
        raise ValueError(f"{what} must be a non-empty string of at most 128 characters")
    return value


def _class_name(value: Any) -> str:
    # A class given as an object with a class_name (as some SDKs do) is accepted too.
    return _name(getattr(value, "class_name", value), "class name")


def define(name: str) -> Callable[[Handler], Handler]:
    """Register a cloud function, called by ``POST /parse/functions/<name>``."""
    name = _name(name, "function name")

    def register(handler: Handler) -> Handler:
        if name in functions:
            raise ValueError(f"function {name!r} is defined twice")
        functions[name] = handler
        return handler

    return register


def job(name: str) -> Callable[[Handler], Handler]:
    """Register a background job, started by ``POST /parse/jobs/<name>`` (master key) or a schedule."""
    name = _name(name, "job name")

    def register(handler: Handler) -> Handler:
        if name in jobs:
            raise ValueError(f"job {name!r} is defined twice")
        jobs[name] = handler
        return handler

    return register


def _trigger(kind: str, class_name: Any) -> Callable[[Handler], Handler]:
    key = (kind, _class_name(class_name))

    def register(handler: Handler) -> Handler:
        if key in triggers:
            raise ValueError(f"{kind} trigger for {key[1]!r} is defined twice")
        triggers[key] = handler
        return handler

    return register


def before_save(class_name: Any) -> Callable[[Handler], Handler]:
    return _trigger("beforeSave", class_name)


def after_save(class_name: Any) -> Callable[[Handler], Handler]:
    return _trigger("afterSave", class_name)


def before_delete(class_name: Any) -> Callable[[Handler], Handler]:
    return _trigger("beforeDelete", class_name)


def after_delete(class_name: Any) -> Callable[[Handler], Handler]:
    return _trigger("afterDelete", class_name)


def before_find(class_name: Any) -> Callable[[Handler], Handler]:
    return _trigger("beforeFind", class_name)


def after_find(class_name: Any) -> Callable[[Handler], Handler]:
    return _trigger("afterFind", class_name)


def before_login() -> Callable[[Handler], Handler]:
    """Runs once a password login is proven, before its session exists; raising refuses the login."""
    return _trigger("beforeLogin", "_User")


def after_login() -> Callable[[Handler], Handler]:
    return _trigger("afterLogin", "_User")


def after_logout() -> Callable[[Handler], Handler]:
    return _trigger("afterLogout", "_Session")


def before_save_file() -> Callable[[Handler], Handler]:
    return _trigger("beforeSave", FILE_CLASS)


def after_save_file() -> Callable[[Handler], Handler]:
    return _trigger("afterSave", FILE_CLASS)


def before_delete_file() -> Callable[[Handler], Handler]:
    return _trigger("beforeDelete", FILE_CLASS)


def after_delete_file() -> Callable[[Handler], Handler]:
    return _trigger("afterDelete", FILE_CLASS)


def _params_of(handler: Handler) -> dict[str, str]:
    """Declared parameter types of a function, from ``params: TypedDict``-free annotations on the handler.

    A handler may annotate keyword-only parameters after ``request`` (``def f(request, *, name: str)``);
    the generated SDKs type their calls from this.
    """
    declared: dict[str, str] = {}
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError):
        return declared
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY:
            annotation = parameter.annotation
            declared[parameter.name] = (
                "any" if annotation is inspect.Parameter.empty else getattr(annotation, "__name__", str(annotation))
            )
    return declared


def _returns_of(handler: Handler) -> str:
    try:
        annotation = inspect.signature(handler).return_annotation
    except (TypeError, ValueError):
        return "any"
    if annotation is inspect.Signature.empty:
        return "any"
    return getattr(annotation, "__name__", str(annotation))


def describe() -> dict[str, Any]:
    """What the bundle registered, as the platform stores it with the version.

    ``paramOrder`` keeps the declaration order of a function's parameters: the version row stores this
    as jsonb, which keeps no key order, and the generated Java SDK passes parameters by position.
    """
    return {
        "functions": [
            {"name": name, "params": params, "paramOrder": list(params), "returns": _returns_of(handler)}
            for name, handler in sorted(functions.items())
            for params in [_params_of(handler)]
        ],
        "triggers": [{"kind": kind, "className": class_name} for kind, class_name in sorted(triggers)],
        "jobs": [{"name": name} for name in sorted(jobs)],
    }
