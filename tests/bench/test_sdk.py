"""bench/sdk.py's generation part at a small scale: every language generated, timed and reported."""

from __future__ import annotations

from bench.sdk import bench_schemas, measure_generation, render


def test_bench_schema_has_every_type_and_a_pointer_chain():
    schemas = bench_schemas(3)
    assert sorted(schemas) == ["Class000", "Class001", "Class002", "_User"]
    assert schemas["Class002"]["parent"] == {"type": "Pointer", "targetClass": "Class001"}
    assert {spec["type"] for spec in schemas["Class000"].values()} >= {"Date", "GeoPoint", "Bytes", "Relation"}


def test_generation_is_measured_for_each_language():
    generation = measure_generation(3, 1)
    assert set(generation["sources_seconds"]) == {"openapi", "python", "typescript", "java"}
    for built in (generation["first_ever"], generation["fresh_worker"], *generation["warm"]):
        wall, cpu = built  # every package of the app, compilers included
        assert wall > 0
        assert cpu > 0
    assert len(generation["warm"]) >= 5
    report = render(
        generation,
        {
            "get-by-id": {
                "raw_rps": 100.0,
                "sdk_rps": 95.0,
                "overhead_percent": 5.0,
                "raw_cpu_us": 80.0,
                "sdk_cpu_us": 84.0,
            }
        },
    )
    assert "sources alone for 3 classes" in report
    assert "warm compilers (after the warm-up), 5 apps" in report
    assert "overhead 5.0% (target < 10%: met)" in report
