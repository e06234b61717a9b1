"""The soak's figures (bench/soak_metrics.py), checked on made-up recordings without starting a server."""

from __future__ import annotations

import pytest

from bench.soak import _replaced, parse_args
from bench.soak_metrics import Answer, RssSample, minutes, rss_trends, slope_per_minute


def test_a_steady_line_has_its_slope_per_minute_and_a_flat_one_none():
    assert slope_per_minute([(t, 100 + 0.5 * t / 60) for t in range(0, 600, 5)]) == pytest.approx(0.5)
    assert slope_per_minute([(t, 80.0) for t in range(0, 600, 5)]) == 0
    assert slope_per_minute([(0, 80.0)]) == 0


def test_noise_around_a_flat_line_gives_a_slope_near_zero():
    points = [(t, 100 + (1 if (t // 5) % 2 else -1)) for t in range(0, 600, 5)]
    assert abs(slope_per_minute(points)) < 0.01


def test_minutes_count_requests_and_errors_and_take_percentiles_per_minute():
    answers = [Answer(at=s * 0.5, operation="get", status=200, milliseconds=float(s % 120)) for s in range(240)]
    answers.append(Answer(at=70.0, operation="create", status=None, milliseconds=10_000.0))
    answers.append(Answer(at=71.0, operation="login", status=503, milliseconds=3.0))
    rows = minutes(answers, 120)
    assert [row["requests"] for row in rows] == [120, 122]
    assert [row["errors"] for row in rows] == [0, 2]
    assert rows[0]["p50_ms"] == pytest.approx(59.5)
    assert rows[1]["operations"]["create"]["errors"] == 1
    assert set(rows[1]["operations"]) == {"create", "get", "login"}


def test_rss_trends_are_per_process_and_a_growing_one_shows():
    samples = [RssSample(at=t, pid=1, label="web-1", rss_bytes=100_000_000 + t * 100_000) for t in range(0, 120, 5)]
    samples += [RssSample(at=t, pid=2, label="beat", rss_bytes=50_000_000) for t in range(0, 120, 5)]
    trends = {trend["label"]: trend for trend in rss_trends(samples)}
    assert trends["web-1"]["slope_mb_per_min"] == pytest.approx(6.0)
    assert trends["beat"]["slope_mb_per_min"] == 0
    assert trends["web-1"]["first_mb"] == 100.0


def test_a_process_replaced_during_the_soak_is_reported():
    samples = [RssSample(at=t, pid=1, label="web-1", rss_bytes=1) for t in range(0, 60, 5)]
    samples += [RssSample(at=t, pid=2, label="web-2", rss_bytes=1) for t in range(0, 30, 5)]
    samples += [RssSample(at=t, pid=3, label="web-2", rss_bytes=1) for t in range(35, 60, 5)]
    assert _replaced(samples, every=5) == ["web-2 (pid 2)", "web-2 (pid 3)"]


def test_the_mix_flag_takes_known_operations_only():
    assert parse_args(["--mix", "get=1,login=2"]).mix == {"get": 1, "login": 2}
    with pytest.raises(SystemExit):
        parse_args(["--mix", "delete=1"])
