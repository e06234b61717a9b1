"""The cloud-code workloads' harness: requests, the two bundles, the cold-start versions and the verdicts.

No wrk and no benchmark run. The Hangar bundle runs through the real gateway and
sandbox (deployed to a test app), the Parse bundle under Node with a stand-in for the
``Parse`` global that records what it registers: both must answer alike, since the
workloads compare the two servers doing the same work.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async

from bench.cloudcode import (
    COLD_START_TARGET_MS,
    GREETING_LINE,
    GUARDED_SCHEMA,
    HANGAR_BUNDLE,
    HELLO_ANSWER,
    PARSE_CLOUD_MAIN,
    REJECTED_BODY,
    VALIDATION_ERROR,
    CloudSetupError,
    ColdStart,
    cold_start_bundle,
    greeting_for,
    parse_cloud_flags,
    render_cold_start,
    render_warm_targets,
)
from bench.cpu import CpuSample
from bench.guard import Answer, problems
from bench.load import WrkResult
from bench.measure import Measurement
from bench.run import COLD_START, LIVE_FANOUT, parse_args, split_selection
from bench.servers import MOUNT
from bench.workloads import GUARDED_BODY, GUARDED_CLASS, HELLO_PARAMS, WORKLOADS, workloads_named
from hangar.cloudcode.bundles import bundle_from_path
from hangar.cloudcode.services import deploy_version
from tests.bench.test_workloads import fake_target
from tests.cloudcode.conftest import _stop_workers  # noqa: F401 - autouse: no sandbox outlives its test
from tests.datastore.conftest import ParseApp, app_a  # noqa: F401 - the Parse client of a test app

CLOUD_WORKLOADS = [workload for workload in WORKLOADS if workload.cloud_code]


def test_cloud_workloads_send_the_same_request_to_both_servers() -> None:
    assert [workload.name for workload in CLOUD_WORKLOADS] == ["cloud-hello", "cloud-before-save"]
    for workload in CLOUD_WORKLOADS:
        hangar = workload.prepare(fake_target("hangar", 8111))
        parse = workload.prepare(fake_target("parse", 8222))
        assert hangar.method == parse.method == "POST"
        assert hangar.url.removeprefix("http://127.0.0.1:8111") == parse.url.removeprefix("http://127.0.0.1:8222")
        assert hangar.body == parse.body
        assert hangar.variants == parse.variants == ()
        # What an app sends: the REST key, never the master key.
        assert hangar.headers["X-Parse-REST-API-Key"] == "hangar-rest"
        assert "X-Parse-Master-Key" not in hangar.headers
    hello, before_save = CLOUD_WORKLOADS
    assert hello.prepare(fake_target("hangar", 8111)).url == f"http://127.0.0.1:8111{MOUNT}/functions/hello"
    assert json.loads(hello.prepare(fake_target("hangar", 8111)).body) == HELLO_PARAMS
    assert before_save.path == f"/classes/{GUARDED_CLASS}"
    assert json.loads(before_save.prepare(fake_target("parse", 8222)).body) == GUARDED_BODY


def test_the_guard_accepts_a_create_answer_without_the_field_the_trigger_set() -> None:
    """Parse echoes ``checked`` in the create answer and Hangar may not; anything else must still match."""
    before_save = workloads_named(["cloud-before-save"])[0]
    created = {"objectId": "a1b2c3d4e5", "createdAt": "2026-12-06T18:00:00.000Z"}
    hangar = Answer(201, created)
    parse = Answer(201, {**created, "objectId": "z9y8x7w6v5", "checked": True})
    assert problems(before_save, {"hangar": hangar, "parse": parse}) == []
    assert problems(before_save, {"hangar": Answer(201, {**created, "checked": True}), "parse": parse}) == []
    other = Answer(201, {**created, "score": 8})
    assert any("differ" in problem for problem in problems(before_save, {"hangar": other, "parse": parse}))
    hello = workloads_named(["cloud-hello"])[0]
    assert problems(hello, {"hangar": Answer(200, HELLO_ANSWER), "parse": Answer(200, HELLO_ANSWER)}) == []
    wrong = Answer(200, {"result": "Hello world"})
    assert problems(hello, {"hangar": wrong, "parse": Answer(200, HELLO_ANSWER)})


def test_selection_splits_the_cold_start_and_live_fanout_from_the_wrk_workloads() -> None:
    workloads, live, cold = split_selection(["cloud-hello", COLD_START])
    assert ([w.name for w in workloads], live, cold) == (["cloud-hello"], False, True)
    assert split_selection([COLD_START]) == ([], False, True)
    assert split_selection([COLD_START, LIVE_FANOUT]) == ([], True, True)
    everything, live, cold = split_selection(None)
    assert (len(everything), live, cold) == (len(WORKLOADS), True, True)
    with pytest.raises(ValueError, match="unknown workload"):
        split_selection(["cloud-warm-start"])
    assert parse_args([]).cold_start_rounds == 10
    assert parse_args(["--quick"]).cold_start_rounds == 3
    assert parse_args(["--quick", "--cold-start-rounds", "7"]).cold_start_rounds == 7


def test_parse_server_loads_the_bench_cloud_code_from_an_absolute_path() -> None:
    flag, path = parse_cloud_flags()
    # Parse Server resolves the option against its working directory (bench/.work/parse-files).
    assert flag == "--cloud"
    assert Path(path).is_absolute()
    assert Path(path) == PARSE_CLOUD_MAIN
    assert PARSE_CLOUD_MAIN.exists()


# The Parse bundle under Node: a stand-in ``Parse`` records the handlers, then each is called.
_NODE_HARNESS = """
const handlers = {};
class ParseError extends Error { constructor(code, message) { super(message); this.code = code; } }
globalThis.Parse = {
  Error: ParseError,
  Cloud: {
    define: (name, fn) => { handlers['function ' + name] = fn; },
    beforeSave: (className, fn) => { handlers['beforeSave ' + className] = fn; },
  },
};
require(process.argv[1]);
const fields = (body) => {
  const data = {...body};
  return {get: (k) => data[k], set: (k, v) => { data[k] = v; }, data};
};
const out = {registered: Object.keys(handlers).sort()};
out.hello = handlers['function hello']({params: JSON.parse(process.argv[2])});
const accepted = fields(JSON.parse(process.argv[3]));
handlers['beforeSave Guarded']({object: accepted});
out.accepted = accepted.data;
try { handlers['beforeSave Guarded']({object: fields(JSON.parse(process.argv[4]))}); out.rejected = null; }
catch (error) { out.rejected = {code: error.code, error: error.message}; }
console.log(JSON.stringify(out));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is needed to run the Parse bundle")
def test_the_parse_bundle_greets_checks_and_rejects() -> None:
    completed = subprocess.run(
        ["node", "-e", _NODE_HARNESS, str(PARSE_CLOUD_MAIN), json.dumps(HELLO_PARAMS), json.dumps(GUARDED_BODY),
         json.dumps(REJECTED_BODY)],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    out = json.loads(completed.stdout)
    assert out["registered"] == ["beforeSave Guarded", "function hello"]
    assert {"result": out["hello"]} == HELLO_ANSWER
    assert out["accepted"] == {**GUARDED_BODY, "checked": True}
    assert out["rejected"]["code"] == VALIDATION_ERROR


@pytest.mark.django_db(transaction=True)
async def test_the_hangar_bundle_greets_checks_and_rejects_through_the_sandbox(app_a: ParseApp) -> None:  # noqa: F811
    """The bench bundle deployed as cloud_deploy would, then the workloads' requests through the gateway."""
    bundle = bundle_from_path(HANGAR_BUNDLE)
    version = await sync_to_async(deploy_version)(app_a.tenant.app, bundle)
    assert [f["name"] for f in version.handlers["functions"]] == ["hello"]
    assert version.handlers["triggers"] == [{"kind": "beforeSave", "className": GUARDED_CLASS}]
    hello = await app_a.request("POST", "/functions/hello", HELLO_PARAMS)
    assert (hello.status_code, hello.json()) == (200, HELLO_ANSWER)
    # As bench/cloudcode.prepare_cloud declares it: the REST key may then create Guarded objects.
    declared = await app_a.request("POST", f"/schemas/{GUARDED_CLASS}", GUARDED_SCHEMA, master=True)
    assert declared.status_code == 200, declared.text
    created = await app_a.request("POST", f"/classes/{GUARDED_CLASS}", GUARDED_BODY)
    assert created.status_code == 201, created.text
    stored = await app_a.request("GET", f"/classes/{GUARDED_CLASS}/{created.json()['objectId']}")
    assert stored.json()["checked"] is True
    rejected = await app_a.request("POST", f"/classes/{GUARDED_CLASS}", REJECTED_BODY)
    assert rejected.json()["code"] == VALIDATION_ERROR


@pytest.mark.django_db(transaction=True)
async def test_a_cold_start_round_is_a_new_version_that_answers_with_its_own_greeting(
    app_a: ParseApp,  # noqa: F811
    tmp_path: Path,
) -> None:
    first = cold_start_bundle("round-1", tmp_path)
    second = cold_start_bundle("round-2", tmp_path)
    base = (HANGAR_BUNDLE / "main.py").read_text()
    assert (first / "main.py").read_text() == base.replace(GREETING_LINE, 'GREETING = "Hello round-1:"')
    assert len({bundle_from_path(path).sha256 for path in (HANGAR_BUNDLE, first, second)}) == 3
    for tag, path in (("round-1", first), ("round-2", second)):
        await sync_to_async(deploy_version)(app_a.tenant.app, bundle_from_path(path))
        answer = await app_a.request("POST", "/functions/hello", HELLO_PARAMS)
        assert answer.json() == greeting_for(tag)


def test_a_cold_start_source_without_the_greeting_line_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    (source / "main.py").write_text('GREETING = "Hi"\n')
    with pytest.raises(CloudSetupError, match="GREETING"):
        cold_start_bundle("round-1", tmp_path, source)


def test_cold_start_summary_against_the_target() -> None:
    fast = ColdStart(first_call_ms=[120.0, 180.0, 150.0], deploy_seconds=[2.0, 2.1, 2.2])
    assert (fast.stats["p50"], fast.stats["max"]) == (150.0, 180.0)
    assert fast.met
    assert f"p50 150.0 ms, max 180.0 ms; target < {COLD_START_TARGET_MS:.0f} ms: met" in render_cold_start(fast)
    slow = ColdStart(first_call_ms=[120.0, 310.0], stale_calls=1)
    assert not slow.met
    assert "NOT met" in render_cold_start(slow)
    assert "1 calls answered by the old version" in render_cold_start(slow)
    assert not ColdStart().met  # no sample is no evidence
    assert fast.as_dict()["target_ms"] == COLD_START_TARGET_MS


def _measured(workload: str, server: str, *, rate: float, p99: float) -> Measurement:
    load = WrkResult(
        requests=int(rate * 10), seconds=10.0, p50_ms=p99 / 4, p90_ms=p99 / 2, p99_ms=p99, max_ms=p99 * 2,
        non_2xx=0, socket_errors={}, first_bad="",
    )  # fmt: skip
    return Measurement(workload=workload, server=server, load=load, cpu=CpuSample(1.0, 0.1, 0.1, 2.0))


def test_warm_targets_need_the_rate_and_the_p99() -> None:
    lines = render_warm_targets([
        _measured("cloud-hello", "hangar", rate=1200, p99=40), _measured("cloud-hello", "parse", rate=1000, p99=50),
        _measured("cloud-before-save", "hangar", rate=1100, p99=90),
        _measured("cloud-before-save", "parse", rate=1000, p99=60),
        _measured("create", "hangar", rate=1, p99=1), _measured("create", "parse", rate=2, p99=1),
    ]).splitlines()  # fmt: skip
    assert lines == [
        "cloud-hello: hangar/parse req/s 1.20x (target >= 1.00x), p99 0.80x (target <= 1.00x): met",
        "cloud-before-save: hangar/parse req/s 1.10x (target >= 1.00x), p99 1.50x (target <= 1.00x): NOT met",
    ]
    assert render_warm_targets([_measured("cloud-hello", "hangar", rate=1200, p99=40)]) == ""  # --skip-parse
