"""The correctness guard: before any load, one sample request per workload and server, checked side by side.

Each server gets the first request wrk would send it. Every answer must be a 2xx; a
query answer must hold results, as many on both servers; and for workloads declared
``same_body`` both answers must be equal once the values each server generates itself
(``objectId``, ``createdAt``, ``updatedAt``) are left out. A server that answers
differently would be measured doing other work than its peer, so the run stops.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from bench.workloads import HttpRequest, Workload

# Values each server generates itself; sessionToken: every login and sign-up opens a new session.
GENERATED_KEYS = frozenset({"objectId", "createdAt", "updatedAt", "sessionToken"})


class GuardError(RuntimeError):
    """A sample request failed, or the two servers answered it differently."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # decoded JSON, or the text when it is not JSON

    @property
    def ok(self) -> bool:
        return 200 <= self.status <= 299

    def summary(self, chars: int = 600) -> str:
        text = self.body if isinstance(self.body, str) else json.dumps(self.body, sort_keys=True)
        return f"{self.status} {text[:chars]}{'...' if len(text) > chars else ''}"


def send_sample(request: HttpRequest) -> Answer:
    """Send the first request of ``request`` once, as wrk would."""
    response = httpx.request(
        request.method, request.url, headers=dict(request.headers), content=request.body.encode() or None, timeout=30
    )
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    return Answer(response.status_code, body)


def without_generated(value: Any, *, acl: bool = False) -> Any:
    """``value`` without the keys each server fills in itself, at any depth.

    An ``ACL`` names users by their generated objectId: its user entries are kept under
    ``<user>``, so the permissions are still compared.
    """
    if isinstance(value, dict):
        return {
            ("<user>" if acl and key != "*" and not key.startswith("role:") else key):
            without_generated(item, acl=key == "ACL")
            for key, item in value.items()
            if key not in GENERATED_KEYS
        }  # fmt: skip
    if isinstance(value, list):
        return [without_generated(item) for item in value]
    return value


def _without(body: Any, keys: frozenset[str]) -> Any:
    """``body`` without the top-level ``keys`` a workload does not compare."""
    return {key: item for key, item in body.items() if key not in keys} if isinstance(body, dict) else body


def result_count(body: Any) -> int | None:
    """How many results a query answer holds (None: not a query answer)."""
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        return len(body["results"])
    return None


def problems(workload: Workload, answers: Mapping[str, Answer]) -> list[str]:
    """What is wrong with the servers' answers to one workload's sample request (empty: nothing)."""
    found = [f"{server} answered {answer.summary()}" for server, answer in answers.items() if not answer.ok]
    if found:
        return found
    for server, answer in answers.items():
        missing = [key for key in workload.answer_keys if not isinstance(answer.body, dict) or key not in answer.body]
        if missing:
            found.append(f"{server}'s answer lacks {missing}")
    counts = {server: result_count(answer.body) for server, answer in answers.items()}
    if any(count is not None for count in counts.values()):
        if any(not count for count in counts.values()):
            found.append(f"a query answer holds no results: {counts}")
        elif len(set(counts.values())) > 1:
            found.append(f"the servers return different numbers of results: {counts}")
    bodies = [without_generated(_without(answer.body, workload.ignored_keys)) for answer in answers.values()]
    if workload.same_body and not found and any(body != bodies[0] for body in bodies[1:]):
        left_out = ", ".join(sorted(GENERATED_KEYS | workload.ignored_keys))
        found.append(f"the answers differ ({left_out} left out)")
    if found:
        found.extend(f"  {server}: {answer.summary()}" for server, answer in answers.items())
    return found


def check_samples(workloads: Sequence[Workload], requests: Mapping[tuple[str, str], HttpRequest]) -> None:
    """Send every workload's sample request to every server (keys of ``requests``: (workload, server)).

    Prints one line per workload; raises GuardError listing every problem found.
    """
    failures: list[str] = []
    for workload in workloads:
        samples = {server: request for (name, server), request in requests.items() if name == workload.name}
        answers = {server: send_sample(request) for server, request in samples.items()}
        found = problems(workload, answers)
        statuses = ", ".join(f"{server} {answer.status}" for server, answer in answers.items())
        counts = {server: result_count(answer.body) for server, answer in answers.items()}
        detail = f", {next(iter(counts.values()))} results each" if not found and None not in counts.values() else ""
        print(f"  check {workload.name:<17} {statuses}{detail}: {'FAILED' if found else 'ok'}", flush=True)
        failures.extend(f"{workload.name}: {problem}" for problem in found)
    if failures:
        raise GuardError("sample requests failed the correctness guard:\n" + "\n".join(failures))
