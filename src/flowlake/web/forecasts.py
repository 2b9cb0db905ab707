"""The dashboard's forecast answers: the Forecast page's series, and the Overview's expected band."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

import duckdb
import numpy as np

from flowlake import forecast
from flowlake.web.dashboard import Period, QuestionError, iso

RECENT = 24 * 3600
"""The window the Forecast page checks for anomalies."""
ANOMALY_LEVEL = 0.99


def question(metric: str, by: str, top: int, history: int, step: int) -> forecast.Question:
    """A forecast question from API parameters, or a QuestionError (400) naming the bad one. Direction is
    not one: the dashboard's `direction` filter says it, as on every page."""
    if step < 300 or step % 300:
        raise QuestionError("step is a whole number of five-minute buckets")
    try:
        return forecast.Question(metric=metric, by=by, top=top, step=step, history=history)
    except ValueError as exc:
        raise QuestionError(str(exc)) from None


def answer(con: duckdb.DuckDBPyConnection, asked: forecast.Question, horizon: int, level: float,
           where: str | None, rolled: bool) -> dict:
    """Per series: its history, the forecast with its band, each day's peak, the backtest (holding out
    the horizon) and the anomalies of the last day; series the model cannot take say why."""
    try:
        found = forecast.load(con, asked, where, rolled)
    except forecast.ForecastError as exc:
        return {"series": [], "skipped": [{"key": None, "reason": str(exc)}]}
    series, skipped = [], []
    for one in found:
        try:
            prediction = forecast.predict(one, horizon, level)
        except forecast.ForecastError as exc:
            skipped.append({"key": one.key, "reason": str(exc)})
            continue
        series.append({
            "key": one.key,
            "history": [[_iso(t), _number(v)] for t, v in zip(one.times, one.values, strict=True)],
            "forecast": _points(prediction),
            "peaks": [{"day": p.day.isoformat(), "time": iso(p.time), "expected": p.expected, "low": p.low,
                       "high": p.high, "busiest": p.busiest} for p in forecast.peaks(prediction)],
            "backtest": _attempt(lambda one=one: [vars(s) for s in forecast.backtest(one, horizon, level)]),
            "anomalies": _attempt(lambda one=one: [
                {**vars(a), "time": iso(a.time)} for a in forecast.anomalies(one, RECENT, ANOMALY_LEVEL)]),
        })
    return {"metric": asked.metric, "by": asked.by, "step": asked.step,
            "level": level, "model": "harmonic", "series": series, "skipped": skipped}


def band(con: duckdb.DuckDBPyConnection, period: Period, metric: str, step: int, level: float, where: str | None,
         rolled: bool) -> dict:
    """What the model expects over the period at the chart's step, learnt from the history before it."""
    start = int(period.start.timestamp())
    asked = question(metric, "none", 1, forecast.Question.history, step)
    try:
        found = forecast.load(con, replace(asked, start=start - asked.history, end=start), where, rolled)
    except forecast.ForecastError:
        found = []
    try:
        if not found:
            raise forecast.ForecastError(f"no traffic in the {asked.history // 86_400} days before this range to "
                                         "learn from")
        times = np.arange(start, int(period.end.timestamp()), step, dtype=np.int64)
        prediction = forecast.fit(found[0]).predict(times, level)
    except forecast.ForecastError as exc:
        return {"points": [], "reason": str(exc), "level": level}
    return {"points": _points(prediction), "reason": None, "level": level}


def _points(prediction: forecast.Prediction) -> list[list]:
    return [[_iso(t), e, lo, hi] for t, e, lo, hi in
            zip(prediction.times, prediction.expected.tolist(), prediction.low.tolist(), prediction.high.tolist(),
                strict=True)]


def _attempt(work) -> dict:
    try:
        return {"rows": work(), "reason": None}
    except forecast.ForecastError as exc:
        return {"rows": [], "reason": str(exc)}


def _iso(seconds: int) -> str:
    return iso(dt.datetime.fromtimestamp(int(seconds), dt.UTC))


def _number(value: float) -> float | None:
    return None if math.isnan(value) else float(value)
