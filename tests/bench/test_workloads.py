"""The benchmark's workload definitions and request builders, checked without starting any server.

No Parse Server, no wrk, no timing: the builders are pure functions of the seeded ids,
so these tests feed them made-up ids and check that what would go on the wire is a
valid Parse request (reference sections 7, 9 and 13.1) and the same on both servers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from bench.dataset import (
    BATCH_SIZE,
    COMMENT_CLASS,
    ITEM_CLASS,
    SCHEMAS,
    WRITE_CLASS,
    DatasetSize,
    SeededData,
    SeedError,
    batch_requests,
    comment_body,
    comment_item_indexes,
    created_ids,
    item_body,
    schema_request,
)
from bench.guard import Answer, problems, without_generated
from bench.load import variants_path, write_request_file
from bench.report import _COLUMNS
from bench.run import parse_args
from bench.servers import MOUNT, Target
from bench.workloads import INCREMENT, PAGE, WORKLOADS, Workload, workloads_named

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")  # class and field names (reference section 5.2)
OBJECT_ID = re.compile(r"[A-Za-z0-9]{10}")
# Query parameters Parse Server accepts (reference 7.5); anything else is error 102.
QUERY_PARAMS = {
    "where", "order", "limit", "skip", "keys", "excludeKeys", "include", "includeAll", "count",
    "redirectClassNameForKey", "readPreference", "includeReadPreference", "subqueryReadPreference", "hint",
    "explain", "comment",
}  # fmt: skip
FIELD_TYPES = {"String", "Number", "Boolean", "Date", "Object", "Array", "GeoPoint", "File", "Bytes", "Polygon",
               "Pointer", "Relation"}  # fmt: skip
SIZE = DatasetSize(items=500, comments=200)
WORKLOAD_COLUMN_WIDTH = next(width for name, _, width in _COLUMNS if name == "workload")
DATA_WORKLOADS = [workload for workload in WORKLOADS if workload.needs_data]


def fake_data(prefix: str, size: DatasetSize = SIZE) -> SeededData:
    """Seeded data as a server would report it: ten-character ids, its own on each server."""
    return SeededData(
        size=size,
        items=[f"{prefix}I{n:08d}" for n in range(size.items)],
        comments=[f"{prefix}C{n:08d}" for n in range(size.comments)],
    )


def fake_target(kind: str, port: int) -> Target:
    return Target(
        kind=kind, base_url=f"http://127.0.0.1:{port}{MOUNT}", application_id=f"{kind}-app",
        keys={"master": f"{kind}-master", "rest": f"{kind}-rest"}, process=None,  # type: ignore[arg-type]
    )  # fmt: skip


def split(path: str) -> tuple[list[str], dict[str, str]]:
    """``/classes/C/id?a=b`` -> (["classes", "C", "id"], {"a": "b"}), each parameter given once."""
    parts = urlsplit(path)
    params = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    assert all(len(values) == 1 for values in params.values()), path
    return parts.path.strip("/").split("/"), {name: values[0] for name, values in params.items()}


def test_workloads_are_well_formed() -> None:
    names = [workload.name for workload in WORKLOADS]
    assert len(names) == len(set(names))
    assert {"get-by-id", "query-indexed", "create", "update", "include"} <= set(names)
    for workload in WORKLOADS:
        assert re.fullmatch(r"[a-z][a-z0-9-]*", workload.name)
        assert len(workload.name) <= WORKLOAD_COLUMN_WIDTH, "fits the report's workload column"
        assert workload.method in {"GET", "POST", "PUT", "DELETE"}
        assert workload.keys in {"none", "rest", "master"}
        assert workload.about
        if workload.needs_data:
            assert workload.path == ""
            assert workload.body is None
            # What apps send: the client (REST) key, never the master key.
            assert workload.keys == "rest"
            assert workload.same_body
        else:
            assert workload.path.startswith("/")


def test_writes_come_after_the_reads_they_would_disturb() -> None:
    order = [workload.name for workload in WORKLOADS]
    assert order.index("update") > order.index("query-indexed")
    assert order.index("update") > order.index("get-by-id")


def test_workloads_named_keeps_the_given_order_and_rejects_unknown_names() -> None:
    assert workloads_named(None) == list(WORKLOADS)
    assert [w.name for w in workloads_named(["update", "get-by-id"])] == ["update", "get-by-id"]
    with pytest.raises(ValueError, match="nope"):
        workloads_named(["get-by-id", "nope"])


def test_a_data_workload_needs_seeded_data() -> None:
    with pytest.raises(ValueError, match="needs seeded data"):
        workloads_named(["get-by-id"])[0].requests(None)


@pytest.mark.parametrize("workload", DATA_WORKLOADS, ids=lambda w: w.name)
def test_data_workload_requests_are_valid_parse_requests(workload: Workload) -> None:
    data = fake_data("a")
    requests = workload.requests(data)
    assert len(requests) >= 100
    for request in requests:
        segments, params = split(request.path)
        assert segments[0] == "classes"
        assert NAME.fullmatch(segments[1])
        class_fields = SCHEMAS[segments[1]]["fields"]
        if len(segments) == 3:  # one object: GET (no parameters but keys/include) or PUT
            assert segments[2] in data.items
            assert set(params) <= {"keys", "include", "excludeKeys"}
        else:
            assert len(segments) == 2
        if workload.method == "GET":
            assert request.body is None
            assert set(params) <= QUERY_PARAMS
            if "order" in params:
                assert all(name.lstrip("-") in class_fields for name in params["order"].split(","))
            if "where" in params:
                where = json.loads(params["where"])
                assert isinstance(where, dict)
                for field, constraint in where.items():
                    assert field in class_fields
                    assert class_fields[field]["type"] == "Number"
                    assert set(constraint) == {"$gte"}
                assert int(params["limit"]) == PAGE
            if "include" in params:
                for name in params["include"].split(","):
                    assert class_fields[name]["type"] == "Pointer"
        else:
            assert isinstance(request.body, dict)
            assert request.body
            for field, value in request.body.items():
                assert field in class_fields, field
                if isinstance(value, dict):
                    assert value == {"__op": "Increment", "amount": 1}
                    assert class_fields[field]["type"] == "Number"
                else:
                    expected = {"Number": (int, float), "String": str}[class_fields[field]["type"]]
                    assert isinstance(value, expected)


def test_get_and_update_visit_every_seeded_item_once_per_cycle() -> None:
    data = fake_data("a")
    for name in ("get-by-id", "update"):
        ids = [request.path.rsplit("/", 1)[1] for request in workloads_named([name])[0].requests(data)]
        assert sorted(ids) == sorted(data.items)
        assert ids != list(data.items), "shuffled, not in insertion order"
    bodies = [request.body for request in workloads_named(["update"])[0].requests(data)]
    assert all(body == INCREMENT for body in bodies)


def test_query_bounds_always_leave_a_full_page() -> None:
    data = fake_data("a")
    for name, column, count in (("query-indexed", "score", SIZE.items), ("include", "n", SIZE.comments)):
        bounds = [
            json.loads(split(request.path)[1]["where"])[column]["$gte"]
            for request in workloads_named([name])[0].requests(data)
        ]
        assert min(bounds) >= 0
        assert max(bounds) <= count - PAGE
        assert len(set(bounds)) > 50, "the bounds vary"


def _by_position(data: SeededData, text: str) -> str:
    """Replace each server's object ids by their positions, which are the same on both servers."""
    for prefix, ids in (("item", data.items), ("comment", data.comments)):
        for position, object_id in enumerate(ids):
            text = text.replace(object_id, f"<{prefix}{position}>")
    return text


@pytest.mark.parametrize("workload", DATA_WORKLOADS, ids=lambda w: w.name)
def test_both_servers_get_the_same_requests_but_for_their_own_ids(workload: Workload) -> None:
    hangar, parse = fake_data("h", DatasetSize(150, 120)), fake_data("p", DatasetSize(150, 120))
    as_sent = [
        [_by_position(data, json.dumps([request.path, request.body])) for request in workload.requests(data)]
        for data in (hangar, parse)
    ]
    assert as_sent[0] == as_sent[1]


@pytest.mark.parametrize("workload", WORKLOADS, ids=lambda w: w.name)
def test_prepared_requests_have_the_right_keys_and_survive_the_request_file(workload: Workload, tmp_path: Path) -> None:
    target = fake_target("hangar", 8111)
    request = workload.prepare(target, fake_data("h") if workload.needs_data else None)
    assert request.url.startswith(f"http://127.0.0.1:8111{MOUNT}/")
    assert request.method == workload.method
    if workload.keys == "none":
        assert "X-Parse-Application-Id" not in request.headers
    else:
        assert request.headers["X-Parse-Application-Id"] == "hangar-app"
    if workload.keys == "rest":
        assert request.headers["X-Parse-REST-API-Key"] == "hangar-rest"
        assert "X-Parse-Master-Key" not in request.headers
    if workload.method in {"POST", "PUT"}:
        assert request.headers["Content-Type"] == "application/json"
        json.loads(request.body)
    request_file = write_request_file(request, workload.name, tmp_path)
    head, body = request_file.read_text().split("\n\n", 1)
    lines = head.split("\n")
    assert lines[0] == workload.method
    assert dict(line.split(": ", 1) for line in lines[1:]) == dict(request.headers)
    assert body == request.body
    if not workload.needs_data:
        assert request.variants == ()
        assert not variants_path(request_file).exists()
        return
    assert request.url == f"http://127.0.0.1:8111{request.variants[0][0]}"
    rows = variants_path(request_file).read_text().splitlines()
    assert len(rows) == len(request.variants)
    for row, (path, encoded) in zip(rows, request.variants, strict=True):
        assert row == f"{path}\t{encoded}"
        assert path.startswith(f"{MOUNT}/classes/")
        assert (encoded == "") == (workload.method == "GET")


def test_schemas_declare_the_indexed_fields() -> None:
    assert set(SCHEMAS) == {ITEM_CLASS, COMMENT_CLASS, WRITE_CLASS}
    assert SCHEMAS[ITEM_CLASS]["indexes"] == {"score_1": {"score": 1}}
    for class_name in SCHEMAS:
        body = schema_request(class_name)
        assert body["className"] == class_name
        assert NAME.fullmatch(class_name)
        for field, spec in body["fields"].items():
            assert NAME.fullmatch(field)
            assert spec["type"] in FIELD_TYPES
            if spec["type"] in {"Pointer", "Relation"}:
                assert spec["targetClass"] in SCHEMAS
        for index_name, key in body.get("indexes", {}).items():
            assert re.fullmatch(r"[A-Za-z0-9_]+", index_name)
            assert all(body["fields"][field]["type"] == "Number" and direction == 1 for field, direction in key.items())


def test_seed_batches_are_valid_batch_requests_within_hangars_limit() -> None:
    bodies = [item_body(n) for n in range(123)]
    batches = list(batch_requests(ITEM_CLASS, bodies))
    assert BATCH_SIZE == 50
    assert [len(batch["requests"]) for batch in batches] == [50, 50, 23]
    sent = [item for batch in batches for item in batch["requests"]]
    assert all(item["method"] == "POST" and item["path"] == f"{MOUNT}/classes/{ITEM_CLASS}" for item in sent)
    assert [item["body"] for item in sent] == bodies
    assert bodies[7] == {"score": 7, "name": "item-000007"}
    json.dumps(batches)


def test_comments_point_at_items_the_same_way_on_both_servers() -> None:
    indexes = comment_item_indexes(SIZE)
    assert indexes == comment_item_indexes(SIZE)
    assert len(indexes) == SIZE.comments
    assert all(0 <= i < SIZE.items for i in indexes)
    assert len(set(indexes)) > SIZE.comments // 2
    body = comment_body(3, "abcdefghij")
    assert body == {"n": 3, "text": "comment-000003",
                    "item": {"__type": "Pointer", "className": ITEM_CLASS, "objectId": "abcdefghij"}}  # fmt: skip


def test_created_ids_reads_batch_answers_and_rejects_failures() -> None:
    batch = next(batch_requests(ITEM_CLASS, [item_body(0), item_body(1)]))
    answer: list[dict[str, Any]] = [{"success": {"objectId": "aaaaaaaaaa", "createdAt": "x"}},
                                    {"success": {"objectId": "bbbbbbbbbb", "createdAt": "x"}}]  # fmt: skip
    assert created_ids(batch, answer) == ["aaaaaaaaaa", "bbbbbbbbbb"]
    with pytest.raises(SeedError):
        created_ids(batch, answer[:1])
    with pytest.raises(SeedError):
        created_ids(batch, [answer[0], {"error": {"code": 119, "error": "not allowed"}}])


def test_dataset_size_has_a_floor() -> None:
    with pytest.raises(ValueError, match="at least"):
        DatasetSize(items=10, comments=100)


def test_the_guard_compares_answers_without_generated_values() -> None:
    workload = workloads_named(["include"])[0]
    item = {"objectId": "x", "createdAt": "t", "score": 4, "__type": "Object", "className": ITEM_CLASS}

    def page(object_id: str, score: int = 4, count: int = 2) -> dict[str, Any]:
        return {"results": [{"objectId": object_id, "n": 1, "item": {**item, "objectId": object_id, "score": score}}]
                * count}  # fmt: skip

    assert without_generated(page("a")) == without_generated(page("b"))
    assert problems(workload, {"hangar": Answer(200, page("a")), "parse": Answer(200, page("b"))}) == []
    assert problems(workload, {"hangar": Answer(200, page("a", score=5)), "parse": Answer(200, page("b"))})
    found = problems(workload, {"hangar": Answer(200, page("a", count=1)), "parse": Answer(200, page("b"))})
    assert "different numbers of results" in found[0]
    assert problems(workload, {"hangar": Answer(200, {"results": []}), "parse": Answer(200, {"results": []})})
    assert problems(workload, {"hangar": Answer(404, {"code": 101}), "parse": Answer(200, page("b"))})
    assert problems(workload, {"hangar": Answer(200, page("a"))}) == []  # --skip-parse: Hangar alone
    server_info = workloads_named(["server-info"])[0]
    assert problems(server_info, {"hangar": Answer(200, {"a": 1}), "parse": Answer(200, {"b": 2})}) == []


def test_quick_shrinks_the_run_and_explicit_flags_win() -> None:
    args = parse_args(["--quick"])
    assert (args.duration, args.warmup, args.items, args.comments) == (3, 1, 2000, 400)
    args = parse_args(["--quick", "--duration", "5", "--workloads", "get-by-id,update"])
    assert (args.duration, args.warmup, args.items) == (5, 1, 2000)
    assert args.workloads == ["get-by-id", "update"]
    args = parse_args([])
    assert (args.duration, args.warmup, args.items, args.comments) == (10, 2, 10_000, 2_000)
