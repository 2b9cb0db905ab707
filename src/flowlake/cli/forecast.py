"""`flowlake forecast`: seasonal peaks ahead, backtests against the seasonal-naive baseline, and anomalies."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import pyarrow as pa

from flowlake import forecast
from flowlake.cli import EXIT_PARTIAL, UsageProblem, cli, lake_option, open_lake, output_options, time_options
from flowlake.cli.query import emit
from flowlake.engine.duckdb import connect
from flowlake.output import human
from flowlake.timerange import TimeRange, parse_duration


@cli.command("forecast")
@lake_option
@click.option("--metric", type=click.Choice(forecast.METRICS), default="bytes", show_default=True)
@click.option("--direction", type=click.Choice(forecast.DIRECTIONS), default="all", show_default=True,
              help="ingress or egress by the record's flow-direction (version 5 and later); all: every record.")
@click.option("--by", type=click.Choice(list(forecast.DIMENSIONS)), default="none", show_default=True,
              help="One series per account, region, VPC, interface or destination port.")
@click.option("--top", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="Series to model: the groups with the most traffic over the history.")
@click.option("--history", metavar="DURATION", help="History to learn from, back from the newest complete step "
              "[default: 28d]. --since/--from/--to set it from the clock instead.")
@time_options
@click.option("--horizon", metavar="DURATION", default="7d", show_default=True, help="How far ahead to forecast.")
@click.option("--step", metavar="DURATION", default="1h", show_default=True, help="Bucket size of the series.")
@click.option("--level", type=click.IntRange(50, 99),
              help="Interval level in percent [default: 80; 99 for --anomalies].")
@click.option("--model", type=click.Choice(list(forecast.MODELS)), default="harmonic", show_default=True)
@click.option("--points", is_flag=True, help="Every forecast step, not just each day's peak.")
@click.option("--backtest", is_flag=True, help="Hold out the end of the history (as long as --horizon) and score "
              "the model and the seasonal-naive baseline on it: MAPE and interval coverage.")
@click.option("--anomalies", is_flag=True, help="Steps of the last --recent outside the band the model expects.")
@click.option("--recent", metavar="DURATION", default="24h", show_default=True, help="Window --anomalies checks.")
@output_options()
def forecast_command(lake: Path, metric: str, direction: str, by: str, top: int, history: str | None, when: TimeRange,
                     horizon: str, step: str, level: int | None, model: str, points: bool, backtest: bool,
                     anomalies: bool, recent: str, fmt: str, output: Path | None) -> None:
    """Forecast traffic per hour with its daily and weekly cycles and trend; show each day's expected peak.

    Gaps in capture (no records at all, not even NODATA) are left out, never read as zero traffic.
    """
    if sum((points, backtest, anomalies)) > 1:
        raise UsageProblem("use one of --points, --backtest, --anomalies")
    if history and when:
        raise UsageProblem("use --history or --since/--from/--to, not both")
    try:
        seconds = {name: int(parse_duration(value).total_seconds())
                   for name, value in (("step", step), ("horizon", horizon), ("recent", recent),
                                       ("history", history or "28d"))}
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    if seconds["step"] < 300 or seconds["step"] % 300:
        raise UsageProblem("--step must be a whole number of five-minute buckets (5m, 15m, 1h, 1d)")
    for name in ("horizon", "recent"):
        if seconds[name] < seconds["step"]:
            raise UsageProblem(f"--{name} must be at least one --step")
    question = forecast.Question(
        metric=metric, direction=direction, by=by, top=top, step=seconds["step"], history=seconds["history"],
        start=int(when.start.timestamp()) if when.start else None, end=int(when.end.timestamp()) if when.end else None)
    chance = (level or (99 if anomalies else 80)) / 100
    opened = open_lake(lake)
    con, _ = connect(opened, when or forecast.span(opened, question), rollups=True)
    try:
        series = forecast.load(con, question)
    except forecast.ForecastError as exc:
        raise UsageProblem(str(exc)) from None
    if not series:
        raise UsageProblem("no traffic in this range to forecast")
    rows, said, skipped = [], [], 0
    for one in series:
        try:
            if backtest:
                rows += _scores(one, seconds["horizon"], chance, model)
            elif anomalies:
                rows += _anomalies(one, forecast.anomalies(one, seconds["recent"], chance, model), metric)
            else:
                prediction = forecast.predict(one, seconds["horizon"], chance, model)
                rows += _points(one, prediction, metric) if points else _peaks(one, prediction, metric)
                said.append(_headline(one, prediction, metric, horizon))
        except forecast.ForecastError as exc:
            click.echo(f"skipped: {exc}", err=True)
            skipped += 1
    if fmt == "table":
        for line in said:
            click.echo(line)
    emit(pa.Table.from_pylist(rows).to_reader() if rows else _empty(), fmt, output)
    if skipped:
        sys.exit(EXIT_PARTIAL)


def _peaks(series: forecast.Series, prediction: forecast.Prediction, metric: str) -> list[dict]:
    return [{"series": series.key, "day": p.day, "peak": p.time, f"expected_{metric}": p.expected,
             f"low_{metric}": p.low, f"high_{metric}": p.high, "busiest": p.busiest}
            for p in forecast.peaks(prediction)]


def _points(series: forecast.Series, prediction: forecast.Prediction, metric: str) -> list[dict]:
    return [{"series": series.key, "time": forecast.utc(t), f"expected_{metric}": float(e),
             f"low_{metric}": float(lo), f"high_{metric}": float(hi)}
            for t, e, lo, hi in zip(prediction.times, prediction.expected, prediction.low, prediction.high,
                                    strict=True)]


def _scores(series: forecast.Series, holdout: int, level: float, model: str) -> list[dict]:
    scores = forecast.backtest(series, holdout, level, model)
    baseline = scores[-1].mape
    return [{"series": series.key, "model": s.model, "points": s.points, "mape": s.mape, "coverage": s.coverage,
             "improvement": None if s.mape is None or not baseline else 1 - s.mape / baseline}
            for s in scores]


def _anomalies(series: forecast.Series, found: list[forecast.Anomaly], metric: str) -> list[dict]:
    return [{"series": series.key, "time": a.time, f"observed_{metric}": a.observed, f"expected_{metric}": a.expected,
             f"low_{metric}": a.low, f"high_{metric}": a.high, "direction": a.direction, "score": a.score}
            for a in found]


def _headline(series: forecast.Series, prediction: forecast.Prediction, metric: str, horizon: str) -> str:
    """The line a person reads first: "all: busiest hour in the next 7d: Tuesday 2026-12-01 14:00 UTC,
    38.2 GB (80%: 34.1 GB to 42.3 GB)"."""
    peak = next(p for p in forecast.peaks(prediction) if p.busiest)
    unit = "" if metric == "bytes" else f" {metric}"
    return (f"{series.key}: busiest step in the next {horizon}: {peak.time:%A %Y-%m-%d %H:%M} UTC, "
            f"{human(metric, peak.expected)}{unit} ({prediction.level:.0%}: {human(metric, peak.low)} "
            f"to {human(metric, peak.high)})")


def _empty() -> pa.RecordBatchReader:
    return pa.Table.from_pydict({"series": pa.array([], pa.string())}).to_reader()
