"""`flowlake forecast`: the series it models, its accuracy against the seasonal-naive baseline, peaks, gaps,
anomalies, and the messages a user gets when history is too short or a flag is wrong.

The accuracy lake is generated with known seasonality (weekday traffic peaking at 14:00 UTC, weekends at
half, Fridays at 0.9), a 2 % a day trend and noise with bursts (`generate._intensity`), on a fixed seed.
"""

from __future__ import annotations

import json
import math
import shutil
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from conftest import ACCOUNT, HEADER, aws_key, run_cli, text_object, write_object
from flowlake import forecast
from flowlake.engine.duckdb import connect
from flowlake.generate import generate
from flowlake.lake.store import Lake
from flowlake.web.app import create_app
from rawdata import read_raw

END = datetime(2026, 11, 23, tzinfo=UTC)
DAY0 = int(datetime(2026, 11, 20, tzinfo=UTC).timestamp())


@pytest.fixture(scope="module")
def weeks(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Five weeks of generated traffic: the raw delivery folder and its lake."""
    root = tmp_path_factory.mktemp("weeks")
    generate(root / "raw", records=600_000, seed=7, days=35, end=END, records_per_object=20_000)
    assert run_cli("ingest", str(root / "raw"), "--lake", str(root / "lake")).returncode == 0
    return root / "raw", root / "lake"


def _json(*args: str) -> list[dict]:
    result = run_cli("forecast", *args, "--format", "json")
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


@pytest.mark.parametrize("metric", forecast.METRICS)
def test_the_model_beats_the_seasonal_naive_baseline_and_its_80_percent_interval_covers_70_to_90(
        weeks: tuple[Path, Path], metric: str) -> None:
    _, lake = weeks
    rows = {r["model"]: r for r in _json("--lake", str(lake), "--metric", metric, "--backtest", "--history", "35d")}
    model, naive = rows["harmonic"], rows["seasonal-naive"]
    assert model["points"] == naive["points"] == 7 * 24
    assert model["mape"] <= 0.8 * naive["mape"], rows
    assert model["improvement"] == pytest.approx(1 - model["mape"] / naive["mape"])
    assert 0.7 <= model["coverage"] <= 0.9, rows


def test_peaks_fall_where_the_generated_cycles_put_them(weeks: tuple[Path, Path]) -> None:
    _, lake = weeks
    result = run_cli("forecast", "--lake", str(lake), "--metric", "flows")
    assert result.returncode == 0, result.stderr.decode()
    headline = result.stdout.decode().splitlines()[0]
    assert headline.startswith("all: busiest step in the next 7d: ") and "14:00 UTC" in headline
    peaks = _json("--lake", str(lake), "--metric", "flows")
    whole = [p for p in peaks if p["day"] not in (peaks[0]["day"], peaks[-1]["day"])]  # the horizon's edge days are cut
    assert len(whole) == 6
    for peak in whole:
        assert datetime.fromisoformat(peak["peak"]).hour == 14
    by_weekday = {datetime.fromisoformat(p["peak"]).weekday(): p["expected_flows"] for p in whole}
    busiest = next(p for p in peaks if p["busiest"])
    assert datetime.fromisoformat(busiest["peak"]).weekday() < 4  # Monday to Thursday at full rate
    weekend = [v for d, v in by_weekday.items() if d >= 5]
    weekdays = [v for d, v in by_weekday.items() if d < 4]
    assert weekend and weekdays
    assert 0.4 < max(weekend) / min(weekdays) < 0.6  # the generator's weekend rate is half
    for p in peaks:
        assert p["low_flows"] < p["expected_flows"] < p["high_flows"]


def test_the_series_are_the_lakes_traffic_per_hour(tmp_path: Path) -> None:
    """By account, egress packets per hour, against the raw files read without flowlake: an hour in which
    the account has no record at all is a gap (NaN); one with records but no egress traffic is zero."""
    raw, lake = tmp_path / "raw", tmp_path / "lake"
    generate(raw, records=30_000, seed=3, days=3, end=END)
    assert run_cli("ingest", str(raw), "--lake", str(lake)).returncode == 0
    expected: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for row in read_raw(raw):
        hour = row["start"] - row["start"] % 3600
        expected[row["account_id"]][hour] += row["packets"] if row["log_status"] in (None, "OK") and \
            row["flow_direction"] == "egress" else 0
    con, _ = connect(Lake(lake), rollups=True)
    series = forecast.load(con, forecast.Question(metric="packets", direction="egress", by="account", top=100))
    assert {s.key for s in series} == {k for k, v in expected.items() if sum(v.values())}
    for s in series:
        assert int(s.times[-1]) == int(END.timestamp()) - 2 * 3600  # the newest hour is still filling up
        assert int(s.times[0]) == min(expected[s.key])  # history starts where the lake's does
        for t, value in zip(s.times, s.values, strict=True):
            if int(t) in expected[s.key]:
                assert value == expected[s.key][int(t)], (s.key, t)
            else:
                assert math.isnan(value), (s.key, t)


def _line(start: int, dstport: int = 443, bytes_: int = 1000, status: str = "OK") -> str:
    if status == "NODATA":
        return f"2 {ACCOUNT} eni-0a1b2c3d4e5f60718 - - - - - - - {start} {start + 60} - NODATA"
    return (f"2 {ACCOUNT} eni-0a1b2c3d4e5f60718 10.0.0.5 203.0.113.9 40000 {dstport} 6 10 {bytes_} "
            f"{start} {start + 60} ACCEPT {status}")


def test_a_capture_gap_is_missing_not_zero_and_nodata_is_zero(tmp_path: Path, inbox: Path) -> None:
    """Three days of hourly records. Hours 10 to 15 have none at all (a gap); hour 20 only NODATA (an idle
    interface: zero); port 22 has traffic in hour 5 only, so it is zero wherever the lake captured anything."""
    lines = []
    for hour in range(72):
        start = DAY0 + hour * 3600 + 60
        if 10 <= hour <= 15:
            continue
        lines.append(_line(start, status="NODATA") if hour == 20 else _line(start))
        if hour == 5:
            lines.append(_line(start + 30, dstport=22, bytes_=500))
    write_object(inbox, aws_key(day="2026/11/20"), text_object(lines, HEADER))
    lake = tmp_path / "lake"
    assert run_cli("ingest", str(inbox), "--lake", str(lake)).returncode == 0
    con, _ = connect(Lake(lake), rollups=True)
    [total] = forecast.load(con, forecast.Question())
    hours = (total.times - DAY0) // 3600
    assert list(hours) == list(range(71))  # the newest hour (71) is still filling up
    assert all(math.isnan(total.values[h]) for h in range(10, 16))
    assert total.values[20] == 0
    assert total.values[5] == 1500 and total.values[4] == 1000
    ports = {s.key: s for s in forecast.load(con, forecast.Question(by="dstport"))}
    assert set(ports) == {"443", "22"}
    assert ports["22"].values[5] == 500 and ports["22"].values[6] == 0 and math.isnan(ports["22"].values[12])
    assert forecast.Harmonic(total).predict(forecast.future(total, 3600), 0.8).expected[0] > 0


def test_too_little_history_is_a_message_not_a_crash(tmp_path: Path, inbox: Path) -> None:
    write_object(inbox, aws_key(day="2026/11/20"), text_object([_line(DAY0 + h * 3600) for h in range(30)], HEADER))
    lake = tmp_path / "lake"
    assert run_cli("ingest", str(inbox), "--lake", str(lake)).returncode == 0
    result = run_cli("forecast", "--lake", str(lake), "--format", "json")
    assert result.returncode == 1
    assert b"has 1.2 days of history with data; forecasting needs at least 2" in result.stderr
    assert b"Traceback" not in result.stderr
    assert json.loads(result.stdout) == []
    backtest = run_cli("forecast", "--lake", str(lake), "--backtest", "--horizon", "6h")
    assert backtest.returncode == 1 and b"Traceback" not in backtest.stderr
    assert b"less than a week and a day of history" in backtest.stderr


def test_an_hour_far_above_its_band_is_an_anomaly(weeks: tuple[Path, Path], tmp_path: Path) -> None:
    raw, _ = weeks
    inbox = tmp_path / "inbox"
    shutil.copytree(raw, inbox)
    spike = int(END.timestamp()) - 6 * 3600 + 60  # 18:00, inside the last 24 hours
    lines = [_line(spike + i % 3000, bytes_=2_000_000) for i in range(2000)]
    write_object(inbox, aws_key(day="2026/11/22", stamp="20261122T1800Z"), text_object(lines, HEADER))
    lake = tmp_path / "lake"
    assert run_cli("ingest", str(inbox), "--lake", str(lake)).returncode == 0
    found = _json("--lake", str(lake), "--anomalies")
    times = {datetime.fromisoformat(a["time"]): a for a in found}
    hit = times[datetime(2026, 11, 22, 18, tzinfo=UTC)]
    assert hit["direction"] == "above" and hit["observed_bytes"] > hit["high_bytes"] > hit["expected_bytes"]
    assert len(found) <= 3, found  # the 99% band does not cry wolf over ordinary hours


def test_other_steps_and_groupings(weeks: tuple[Path, Path]) -> None:
    _, lake = weeks
    daily = _json("--lake", str(lake), "--step", "1d", "--points", "--metric", "flows")
    assert len(daily) == 7 and all(datetime.fromisoformat(p["time"]).hour == 0 for p in daily)
    ports = _json("--lake", str(lake), "--by", "dstport", "--top", "3", "--points", "--horizon", "1d")
    assert len({p["series"] for p in ports}) == 3 and len(ports) == 3 * 24
    ingress = _json("--lake", str(lake), "--direction", "ingress", "--backtest")
    assert {r["model"] for r in ingress} == {"harmonic", "seasonal-naive"}


@pytest.mark.parametrize(("args", "message"), [
    (["--step", "7m"], b"whole number of five-minute buckets"),
    (["--step", "1h", "--horizon", "10m"], b"--horizon must be at least one --step"),
    (["--history", "7d", "--since", "7d"], b"--history or --since"),
    (["--points", "--backtest"], b"one of --points, --backtest, --anomalies"),
    (["--horizon", "soon"], b"not a duration"),
    (["--from", "2020-01-01", "--to", "2020-01-02"], b"no records in this range"),
])
def test_bad_flags_exit_2_with_one_line(weeks: tuple[Path, Path], args: list[str], message: bytes) -> None:
    _, lake = weeks
    result = run_cli("forecast", "--lake", str(lake), *args)
    assert result.returncode == 2
    assert message in result.stderr and b"Traceback" not in result.stderr


def test_predictions_have_ordered_bands_and_the_horizons_length() -> None:
    times = np.arange(0, 21 * 86_400, 3600, dtype=np.int64) + DAY0
    rng = np.random.default_rng(1)
    values = 1000 * (1.5 + np.sin(2 * np.pi * times / 86_400)) * rng.lognormal(0, 0.1, len(times))
    series = forecast.Series("synthetic", times, values)
    prediction = forecast.predict(series, 2 * 86_400, 0.8)
    assert len(prediction.times) == 48 and prediction.times[0] == times[-1] + 3600
    assert np.all(prediction.low <= prediction.expected) and np.all(prediction.expected <= prediction.high)
    wider = forecast.predict(series, 2 * 86_400, 0.95)
    assert np.all(wider.high >= prediction.high) and np.all(wider.low <= prediction.low)


def test_gaps_in_last_week_do_not_leave_holes_in_the_baseline_or_its_score() -> None:
    """An account silent for hours (no records at all) last week: the seasonal-naive baseline takes the week
    before, and the backtest's figures are numbers (a NaN would not even be valid JSON for the dashboard)."""
    times = np.arange(0, 22 * 86_400, 3600, dtype=np.int64) + DAY0
    values = 100 * (1.5 + np.sin(2 * np.pi * times / 86_400))
    values[-30:-20] = np.nan
    values[-7 * 24 - 40:-7 * 24 - 35] = np.nan
    series = forecast.Series("gappy", times, values)
    baseline = forecast.SeasonalNaive(series).predict(forecast.future(series, 7 * 86_400), 0.8)
    assert np.isfinite(baseline.expected).all()
    scores = forecast.backtest(series, 2 * 86_400)
    assert all(math.isfinite(s.mape) and math.isfinite(s.coverage) for s in scores)


def test_the_api_answers_as_the_command_does_and_refuses_bad_parameters(weeks: tuple[Path, Path]) -> None:
    """The dashboard's `direction` filter (applied to the rollups) and the command's `--direction` (applied by
    the model's own query) must forecast the same series."""
    _, lake = weeks
    app = TestClient(create_app(Lake(lake), build_rollups=False))
    answer = app.get("/api/forecast", params={"metric": "packets", "direction": "egress"})
    assert answer.status_code == 200, answer.text
    [series] = answer.json()["series"]
    command = _json("--lake", str(lake), "--metric", "packets", "--direction", "egress")
    assert [p["time"] for p in series["peaks"]] == [p["peak"].replace("+00:00", "Z") for p in command]
    assert [p["expected"] for p in series["peaks"]] == pytest.approx([p["expected_packets"] for p in command])
    assert {r["model"] for r in series["backtest"]["rows"]} == {"harmonic", "seasonal-naive"}
    for params, status, message in [({"metric": "bits"}, 400, "metric is one of bytes, packets, flows"),
                                    ({"step": "7m"}, 400, "five-minute buckets"),
                                    ({"horizon": "soon"}, 400, "horizon: not a duration"),
                                    ({"by": "srcaddr"}, 400, "by is one of"),
                                    ({"top": "0"}, 422, None),
                                    ({"bogus": "1"}, 400, "bogus")]:
        refused = app.get("/api/forecast", params=params)
        assert refused.status_code == status, (params, refused.text)
        if message:
            assert message in refused.json()["detail"]
