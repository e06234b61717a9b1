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
    assert set(generation["package_seconds_with_compilers"]) == {"python", "typescript", "java"}
    report = render(generation, {"get-by-id": {"raw_rps": 100.0, "sdk_rps": 95.0, "overhead_percent": 5.0}})
    assert "generation for 3 classes" in report
    assert "overhead 5.0% (target < 10%: met)" in report
