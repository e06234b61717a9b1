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
    FILE_NAME,
    ITEM_CLASS,
    LOGIN_USERNAME,
    SCHEMAS,
    USER_COUNT,
    USER_PASSWORD,
    WRITE_CLASS,
    DatasetSize,
    SeededData,
    SeededUser,
    SeedError,
    batch_requests,
    comment_body,
    comment_item_indexes,
    created_ids,
    item_body,
    payload,
    schema_request,
    user_name,
)
from bench.guard import Answer, problems, without_generated
from bench.load import variants_path, write_request_file
from bench.report import _COLUMNS
from bench.run import parse_args
from bench.servers import MOUNT, Target
from bench.workloads import (
    FILE_SIZES,
    INCREMENT,
    MB,
    PAGE,
    SESSION_HEADER,
    WORKLOADS,
    Workload,
    workloads_named,
)

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
DATA_WORKLOADS = [workload for workload in WORKLOADS if "objects" in workload.seeds]
USERS_FILES_WORKLOADS = [workload for workload in WORKLOADS if workload.seeds and "objects" not in workload.seeds]


def fake_data(prefix: str, size: DatasetSize = SIZE) -> SeededData:
    """Seeded data as a server would report it: ten-character ids, its own on each server, users, files."""
    return SeededData(
        size=size,
        items=[f"{prefix}I{n:08d}" for n in range(size.items)],
        comments=[f"{prefix}C{n:08d}" for n in range(size.comments)],
        users=[SeededUser(user_name(n), USER_PASSWORD, f"r:{prefix}{n:031d}") for n in range(USER_COUNT)],
        login_user=SeededUser(LOGIN_USERNAME, USER_PASSWORD, f"r:{prefix}{'9' * 31}"),
        files={size: f"/files/{prefix}-app/{prefix * 32}_{FILE_NAME}" for size in FILE_SIZES},
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
        if workload in USERS_FILES_WORKLOADS:
            assert workload.variants is not None
        elif workload.needs_data:
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
    if workload.method in {"POST", "PUT"} and not workload.payload_bytes:
        assert request.headers["Content-Type"] == "application/json"
        json.loads(request.body)
    request_file = write_request_file(request, workload.name, tmp_path)
    head, body = request_file.read_text().split("\n\n", 1)
    lines = head.split("\n")
    assert lines[0] == workload.method
    assert dict(line.split(": ", 1) for line in lines[1:]) == dict(request.headers)
    assert body == request.body
    if workload in USERS_FILES_WORKLOADS:
        return  # test_login_and_users_me_requests, test_upload_and_download_requests
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


def test_users_and_files_workloads_exist() -> None:
    names = {workload.name for workload in USERS_FILES_WORKLOADS}
    assert names == {"login", "users-me", "upload-1mb", "upload-10mb", "download-1mb", "download-10mb"}
    assert FILE_SIZES == (1_000_000, 10_000_000)
    for workload in USERS_FILES_WORKLOADS:
        assert workload.seeds <= {"users", "files"}
        if workload.name.startswith(("upload", "download")):
            assert workload.payload_bytes in FILE_SIZES
            assert workload.name.endswith(f"-{workload.payload_bytes // MB}mb")
            # 10 MB requests: fewer connections, the same number on both servers.
            assert workload.connections(64) == (16 if workload.payload_bytes == 10 * MB else 64)
        else:
            assert workload.payload_bytes == 0
            assert workload.same_body


def test_login_and_users_me_requests(tmp_path: Path) -> None:
    target = fake_target("hangar", 8111)
    data = fake_data("h")
    login = workloads_named(["login"])[0].prepare(target, data)
    assert (login.method, login.url) == ("POST", f"http://127.0.0.1:8111{MOUNT}/login")
    assert json.loads(login.body) == {"username": LOGIN_USERNAME, "password": USER_PASSWORD}
    assert login.headers["X-Parse-REST-API-Key"] == "hangar-rest"
    assert login.variants == ()  # one fixed request
    me = workloads_named(["users-me"])[0].prepare(target, data)
    assert me.method == "GET"
    assert me.body == ""
    assert [path for path, _ in me.variants] == [f"{MOUNT}/users/me"] * USER_COUNT
    assert [headers[SESSION_HEADER] for headers in me.variant_headers] == [u.session_token for u in data.users]
    assert me.headers[SESSION_HEADER] == data.users[0].session_token  # the guard's sample
    rows = variants_path(write_request_file(me, "users-me", tmp_path)).read_text().splitlines()
    assert rows[1] == f"{MOUNT}/users/me\t\t{SESSION_HEADER}: {data.users[1].session_token}"


@pytest.mark.parametrize("size", FILE_SIZES)
def test_upload_and_download_requests(size: int, tmp_path: Path) -> None:
    label = f"{size // MB}mb"
    target = fake_target("parse", 8222)
    data = fake_data("p")
    upload = workloads_named([f"upload-{label}"])[0].prepare(target, data)
    assert (upload.method, upload.url) == ("POST", f"http://127.0.0.1:8222{MOUNT}/files/{FILE_NAME}")
    assert upload.headers["Content-Type"] == "application/octet-stream"
    assert upload.headers[SESSION_HEADER] == data.users[0].session_token
    assert len(payload(size)) == size
    assert upload.body.encode() == payload(size)
    assert upload.variants == ()
    request_file = write_request_file(upload, f"upload-{label}", tmp_path)
    assert request_file.read_bytes().split(b"\n\n", 1)[1] == payload(size)
    download = workloads_named([f"download-{label}"])[0].prepare(target, data)
    assert download.url == f"http://127.0.0.1:8222{MOUNT}{data.files[size]}"
    assert download.method == "GET"
    assert download.body == ""
    assert "X-Parse-Application-Id" not in download.headers


def test_users_and_files_workloads_send_the_same_requests_but_for_tokens_and_file_names() -> None:
    hangar, parse = fake_data("h"), fake_data("p")
    for workload in USERS_FILES_WORKLOADS:
        sent = [[(r.path.replace(prefix * 32, "<name>").replace(f"{prefix}-app", "<app>"), r.body, sorted(r.headers))
                 for r in workload.requests(data)] for prefix, data in (("h", hangar), ("p", parse))]  # fmt: skip
        assert sent[0] == sent[1]


def test_the_guard_compares_user_fields_and_acls_without_generated_ids() -> None:
    me = workloads_named(["users-me"])[0]

    def user(object_id: str, **extra: Any) -> dict[str, Any]:
        return {"objectId": object_id, "username": "u", "sessionToken": f"r:{object_id}",
                "ACL": {object_id: {"read": True, "write": True}}, **extra}  # fmt: skip

    typed = {"__type": "Object", "className": "_User"}
    assert problems(me, {"hangar": Answer(200, user("a", **typed)), "parse": Answer(200, user("b"))}) == []
    assert problems(me, {"hangar": Answer(200, user("a", username="v")), "parse": Answer(200, user("b"))})
    assert problems(me, {"hangar": Answer(200, {"username": "u"}), "parse": Answer(200, {"username": "u"})})
    upload = workloads_named(["upload-1mb"])[0]
    assert problems(upload, {"hangar": Answer(201, {"name": "x", "url": "y"}), "parse": Answer(201, {"name": "z"})})
