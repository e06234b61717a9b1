"""What the benchmark sends: one small declarative entry per workload, the same on both servers.

A workload names an HTTP method and a path below the Parse mount, which Parse keys to
present, and optionally extra headers, a JSON body and a seeding hook. The hook runs
once per server before that server is loaded (it gets the server's ``Target``, whose
``call`` speaks the Parse REST API to either side) and returns values that fill
``{placeholders}`` in the path and body. A data-API workload looks like::

    def _seed_item(target: Target) -> dict[str, str]:
        created = target.call("POST", "/classes/BenchItem", {"n": 1})
        return {"object_id": created["objectId"]}

    Workload(name="get-by-id", method="GET", path="/classes/BenchItem/{object_id}", keys="rest", seed=_seed_item)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from bench.servers import Target

KeyKind = Literal["none", "rest", "master"]
Seed = Callable[[Target], Mapping[str, str]]


@dataclass(frozen=True)
class HttpRequest:
    """One concrete request, as wrk replays it."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: str


@dataclass(frozen=True)
class Workload:
    name: str
    method: str
    path: str  # below the mount; "{name}" placeholders are filled from the seed's values
    about: str
    keys: KeyKind = "none"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None  # JSON-encoded when not None
    seed: Seed | None = None

    def prepare(self, target: Target) -> HttpRequest:
        """Seed ``target`` if this workload needs data, and return the request to replay against it."""
        values = dict(self.seed(target)) if self.seed else {}
        headers = {**target.key_headers(self.keys), **self.headers}
        body = ""
        if self.body is not None:
            headers.setdefault("Content-Type", "application/json")
            body = _fill(json.dumps(self.body, separators=(",", ":")), values)
        return HttpRequest(
            method=self.method, url=target.base_url + _fill(self.path, values), headers=headers, body=body
        )


def _fill(template: str, values: Mapping[str, str]) -> str:
    # Plain replacement rather than str.format: JSON bodies are full of braces.
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template


WORKLOADS: tuple[Workload, ...] = (
    Workload(
        name="health",
        method="GET",
        path="/health",
        about="GET /parse/health without keys: the HTTP stack alone, answered before any key check",
    ),
    Workload(
        name="server-info",
        method="GET",
        path="/serverInfo",
        keys="master",
        about="GET /parse/serverInfo with the master key: the full auth path (Hangar: app cache + Redis pipeline)",
    ),
)


def workloads_named(names: list[str] | None) -> list[Workload]:
    """The workloads to run, in the order given (all of them when ``names`` is None)."""
    if not names:
        return list(WORKLOADS)
    by_name = {workload.name: workload for workload in WORKLOADS}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise ValueError(f"unknown workload(s) {', '.join(unknown)}; known: {', '.join(by_name)}")
    return [by_name[name] for name in names]
