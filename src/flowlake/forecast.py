"""Forecasts of traffic: regular series from the lake, a seasonal model per series, peaks, backtests, anomalies.

Traffic is multiplicative: a daily shape times a weekday effect times a slow trend, with
bursts. In log space those become sums, so the model is a regression of `log1p(value)` on a
trend, daily harmonics and day-of-week terms, fitted with Huber's robust M-estimator so
bursts do not drag the fit (statsmodels' RLM). Intervals come from the model's own
out-of-sample errors (refitted at daily cuts of the history, each forecasting the week after
it), not from a normal-theory formula, so they are as wide as the model's real misses a week
ahead. `bench/forecast.py` measured this against the seasonal-naive baseline and Holt-Winters;
`docs/forecast.md` has the figures.

Missing buckets (nothing in the lake for the series' scope, not even NODATA records) are
gaps: left out of fits and scores, never read as zero traffic. A bucket where the scope has
records but none match the series is zero traffic.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from dataclasses import dataclass

import duckdb
import numpy as np
import statsmodels.api as sm
from threadpoolctl import threadpool_limits

from flowlake.lake.store import Lake
from flowlake.timerange import TimeRange

DAY = 86_400
WEEK = 7 * DAY
METRICS = ("bytes", "packets", "flows")
DIRECTIONS = ("all", "ingress", "egress")
DIMENSIONS = {"none": None, "account": "account_id", "region": "region", "vpc": "vpc_id",
              "interface": "interface_id", "dstport": "dstport"}
"""`--by` choices and the lake column each groups by."""
ROLLED = ("none", "account", "region")
"""Groupings the `totals` rollup (five-minute buckets of `start`) answers without reading records."""
SCOPED = ("account", "region", "vpc", "interface")
"""Groupings whose own records show capture: a bucket with none of them is a gap. Other groupings
(`dstport`, `none`) are captured when the lake has any record in the bucket."""
MIN_DAYS = 2
"""Fewer observed days than this and a daily cycle cannot be told from noise."""
WEEKLY_DAYS = 7
"""Day-of-week terms need each weekday seen at least once (a backtest over 16 days trains on 9, measured:
without them it missed by 35 % where the same hour last week missed by 12 %)."""
DAILY_HARMONICS = 6
CALIBRATION_CUTS = 8
"""Most week-ahead forecasts within the history whose errors set the interval (one per day of cut)."""


class ForecastError(ValueError):
    """A question the lake's history cannot answer (too little history, an empty lake)."""


@dataclass(frozen=True)
class Question:
    """Which series to model: one metric, a direction, a grouping, the top groups, a step and a history."""

    metric: str = "bytes"
    direction: str = "all"
    by: str = "none"
    top: int = 10
    step: int = 3600
    start: int | None = None
    end: int | None = None
    """History as Unix seconds [start, end); `end` None: up to the last complete step with data."""
    history: int = 28 * DAY
    """Length of history when `start` is None, counted back from the end."""

    def __post_init__(self) -> None:
        """The names below go into SQL: only known ones pass."""
        for name, value, known in (("metric", self.metric, METRICS), ("direction", self.direction, DIRECTIONS),
                                   ("by", self.by, tuple(DIMENSIONS))):
            if value not in known:
                raise ValueError(f"{name} is one of {', '.join(known)}, not {value!r}")


@dataclass
class Series:
    """One series on a regular grid: bucket starts (Unix seconds) and values, NaN where capture has a gap."""

    key: str
    times: np.ndarray
    values: np.ndarray

    def before(self, t: int) -> Series:
        keep = self.times < t
        return Series(self.key, self.times[keep], self.values[keep])

    def since(self, t: int) -> Series:
        keep = self.times >= t
        return Series(self.key, self.times[keep], self.values[keep])

    @property
    def observed_days(self) -> float:
        step = int(self.times[1] - self.times[0]) if len(self.times) > 1 else DAY
        return float(np.count_nonzero(~np.isnan(self.values))) * step / DAY


@dataclass
class Prediction:
    """Expected values and the interval at `level` for future (or held-out) bucket starts."""

    times: np.ndarray
    expected: np.ndarray
    low: np.ndarray
    high: np.ndarray
    level: float


def span(lake: Lake, question: Question) -> TimeRange:
    """The range a connection for the question opens: its own, or its history back from the lake's newest
    record (with a day to spare for late records), so years of older data are never read."""
    if question.start is not None or question.end is not None:
        return TimeRange(*(None if t is None else utc(t) for t in (question.start, question.end)))
    ledger = lake.reader()
    try:
        [(last,)] = ledger.query("select max(max_start) from files where removed_version is null"
                                 " and path glob 'flows/*'")
    finally:
        ledger.close()
    return TimeRange(utc(last - question.history - question.step - DAY)) if last is not None else TimeRange()


def load(con: duckdb.DuckDBPyConnection, question: Question, where: str | None = None,
         rolled: bool = True) -> list[Series]:
    """The question's series: the top groups by total metric over the history, each on the grid of steps
    from its first data, gaps as NaN. `where` limits the traffic counted, not the capture that tells a
    gap from zero traffic. With `rolled` (a connection made with `rollups=True`, and `where` only on the
    rollup's columns), groupings the `totals` rollup holds are read from it."""
    step = question.step
    column = DIMENSIONS[question.by]
    if rolled and question.by in ROLLED and step % 300 == 0:
        source, t, records = "rollup_totals", "t", "flows"
        amount = question.metric
    else:
        source, t, records = "flows", '"start"', "1"
        amount = "1" if question.metric == "flows" else question.metric
    key = f"cast({column} as varchar)" if column else "'all'"
    wanted = "coalesce(log_status, 'OK') = 'OK'"
    if question.direction != "all":
        wanted += f" and flow_direction = '{question.direction}'"
    if where:
        wanted += f" and ({where})"
    con.execute(f"""create or replace temp table forecast_buckets as
        select {key} as key, {t} - {t} % {step} as t,
               coalesce(sum({amount}) filter (where {wanted}), 0)::double as v, sum({records}) as records
        from {source} where {t} is not null group by all""")
    start, end = _window(con, question)
    if end - start < step:
        raise ForecastError("no complete step of history in the lake for this range")
    top = con.execute(f"""select key from forecast_buckets where key is not null and t >= {start} and t < {end}
                          group by key having sum(v) > 0 order by sum(v) desc, key
                          limit {int(question.top)}""").fetchall()
    grid = np.arange(start, end, step, dtype=np.int64)
    captured = None
    if question.by not in SCOPED:
        captured = _captured(con.execute(f"select distinct t from forecast_buckets where t >= {start} and t < {end}"
                                         " and records > 0").fetchall(), grid, step, start)
    series = []
    for (name,) in top:
        values = np.full(len(grid), np.nan) if captured is None else np.where(captured, 0.0, np.nan)
        rows = con.execute(f"select t, v from forecast_buckets where key = $key and t >= {start} and t < {end}",
                           {"key": name}).fetchall()
        for bucket, value in rows:
            values[(bucket - start) // step] = value
        first = int(np.argmax(~np.isnan(values)))  # history starts where the series' data does
        series.append(Series(name, grid[first:], values[first:]))
    return series


def _window(con: duckdb.DuckDBPyConnection, question: Question) -> tuple[int, int]:
    """[start, end) of the history on step boundaries. Without an end, the last bucket is the one
    before the newest record's: the newest is still filling up."""
    step = question.step
    [(last,)] = con.execute("select max(t) from forecast_buckets where records > 0").fetchall()
    if last is None:
        raise ForecastError("the lake has no records in this range")
    end = int(last) if question.end is None else question.end
    end -= end % step
    start = question.start if question.start is not None else end - question.history
    start += -start % step
    return start, end


def _captured(rows: list[tuple], grid: np.ndarray, step: int, start: int) -> np.ndarray:
    captured = np.zeros(len(grid), dtype=bool)
    for (bucket,) in rows:
        captured[(bucket - start) // step] = True
    return captured


# --- Models ------------------------------------------------------------------------------


class Model:
    """A fitted model of one series: `predict` gives expected values and an interval."""

    name = "model"

    def predict(self, times: np.ndarray, level: float) -> Prediction:
        raise NotImplementedError


class SeasonalNaive(Model):
    """Same step last week (the baseline every forecast must beat); its interval is the spread of its
    own week-on-week errors in log space over the history."""

    name = "seasonal-naive"

    def __init__(self, series: Series) -> None:
        self.series = series
        step = _step(series)
        self.lag = WEEK // step if WEEK % step == 0 else max(1, round(WEEK / step))
        logged = np.log1p(series.values)
        self.errors = (logged[self.lag:] - logged[:-self.lag]) if len(logged) > self.lag else np.array([])
        self.errors = self.errors[~np.isnan(self.errors)]
        if len(self.errors) < 2:
            raise ForecastError(f"series {series.key!r} has less than a week and a day of history: "
                                "the seasonal-naive baseline needs the same hour last week")

    def predict(self, times: np.ndarray, level: float) -> Prediction:
        step = _step(self.series)
        last = self._last_week()
        offsets = ((times - self.series.times[-1]) // step - 1) % self.lag
        expected = np.log1p(last[offsets])
        lo, hi = np.quantile(self.errors, [(1 - level) / 2, (1 + level) / 2])
        return Prediction(times, np.expm1(expected), np.expm1(np.maximum(expected + lo, 0)),
                          np.expm1(expected + hi), level)

    def _last_week(self) -> np.ndarray:
        """The last week, its gaps filled from the weeks before, and what no week has from the median."""
        values = self.series.values
        last = values[-self.lag:].copy()
        for back in range(2, len(values) // self.lag + 1):
            if not np.isnan(last).any():
                break
            earlier = values[-back * self.lag:-(back - 1) * self.lag]
            last = np.where(np.isnan(last), earlier, last)
        return np.where(np.isnan(last), np.nanmedian(values), last)


class Harmonic(Model):
    """`log1p(value)` ~ trend + daily harmonics + day of week, fitted robustly (Huber), with intervals
    from out-of-sample errors (see the module docstring)."""

    name = "harmonic"

    @threadpool_limits.wrap(limits=1, user_api="blas")
    def __init__(self, series: Series) -> None:
        """Fits are many small matrices: one BLAS thread does them 30 times faster than several fighting
        over a busy machine's cores (measured on two cores)."""
        self.step = _step(series)
        days = series.observed_days
        if days < MIN_DAYS:
            raise ForecastError(f"series {series.key!r} has {days:.1f} days of history with data; "
                                f"forecasting needs at least {MIN_DAYS}")
        self.origin = int(series.times[0])
        self.weekly = days >= WEEKLY_DAYS and self.step < DAY * 7
        self.params = self._fit(series)
        self.residuals = self._calibration(series)

    def _design(self, times: np.ndarray) -> np.ndarray:
        t = times.astype(float)
        columns = [np.ones(len(t)), (t - self.origin) / WEEK]
        per_day = DAY / self.step
        for k in range(1, min(DAILY_HARMONICS, int((per_day - 1) // 2)) + 1):
            angle = 2 * math.pi * k * (t % DAY) / DAY
            columns += [np.sin(angle), np.cos(angle)]
        if self.weekly:
            weekday = ((times // DAY) + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
            columns += [(weekday == d).astype(float) for d in range(1, 7)]
        return np.column_stack(columns)

    def _fit(self, series: Series) -> np.ndarray:
        keep = ~np.isnan(series.values)
        design = self._design(series.times[keep])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return sm.RLM(np.log1p(series.values[keep]), design, M=sm.robust.norms.HuberT()).fit().params

    def _calibration(self, series: Series) -> np.ndarray:
        """Log-space errors of the same model forecasting a week it did not see, from each day's cut that
        leaves it enough history (up to CALIBRATION_CUTS of them); with too little history for one cut,
        the in-sample residuals (narrower, as docs/forecast.md says)."""
        errors = []
        cut = int(series.times[-1]) + self.step - WEEK
        while len(errors) < CALIBRATION_CUTS:
            head = series.before(cut)
            if head.observed_days < (WEEKLY_DAYS if self.weekly else MIN_DAYS):
                break
            tail = series.since(cut).before(cut + WEEK)
            keep = ~np.isnan(tail.values)
            errors.append(np.log1p(tail.values[keep]) - self._design(tail.times[keep]) @ self._fit(head))
            cut -= DAY
        if not errors:
            keep = ~np.isnan(series.values)
            errors.append(np.log1p(series.values[keep]) - self._design(series.times[keep]) @ self.params)
        return np.concatenate(errors)

    def predict(self, times: np.ndarray, level: float) -> Prediction:
        center = self._design(times) @ self.params
        lo, hi = np.quantile(self.residuals, [(1 - level) / 2, (1 + level) / 2])
        return Prediction(times, np.expm1(center), np.expm1(np.maximum(center + lo, 0)), np.expm1(center + hi), level)


MODELS = {"harmonic": Harmonic, "seasonal-naive": SeasonalNaive}


def _step(series: Series) -> int:
    return int(series.times[1] - series.times[0]) if len(series.times) > 1 else 3600


def fit(series: Series, model: str = "harmonic") -> Model:
    return MODELS[model](series)


# --- Answers -----------------------------------------------------------------------------


def future(series: Series, horizon: int) -> np.ndarray:
    """Bucket starts of the `horizon` seconds after the series ends."""
    step = _step(series)
    first = int(series.times[-1]) + step
    return np.arange(first, first + horizon, step, dtype=np.int64)


def predict(series: Series, horizon: int, level: float = 0.8, model: str = "harmonic") -> Prediction:
    return fit(series, model).predict(future(series, horizon), level)


@dataclass(frozen=True)
class Peak:
    """The busiest step of one day in the horizon."""

    day: dt.date
    time: dt.datetime
    expected: float
    low: float
    high: float
    busiest: bool


def peaks(prediction: Prediction) -> list[Peak]:
    """Per UTC day of the prediction, its busiest step; the busiest of all is flagged."""
    days = prediction.times // DAY
    found = []
    for day in np.unique(days):
        at = np.flatnonzero(days == day)
        i = at[np.argmax(prediction.expected[at])]
        found.append((i, day))
    top = max(found, key=lambda f: prediction.expected[f[0]])[0] if found else None
    return [Peak(dt.date.fromordinal(dt.date(1970, 1, 1).toordinal() + int(day)), utc(prediction.times[i]),
                 float(prediction.expected[i]), float(prediction.low[i]), float(prediction.high[i]), bool(i == top))
            for i, day in found]


@dataclass(frozen=True)
class Score:
    """How one model did on held-out history: MAPE (%) over buckets with traffic, interval coverage."""

    model: str
    points: int
    mape: float | None
    coverage: float | None


def backtest(series: Series, holdout: int, level: float = 0.8, model: str = "harmonic") -> list[Score]:
    """Fit on the history without its last `holdout` seconds, forecast them, and score the model and the
    seasonal-naive baseline on the same buckets."""
    cut = int(series.times[-1]) + _step(series) - holdout
    train, test = series.before(cut), series.since(cut)
    if test.observed_days == 0:
        raise ForecastError(f"series {series.key!r} has no data in the last {holdout // 3600} hours to hold out")
    names = list(dict.fromkeys(["seasonal-naive", model]))  # the baseline first: what it lacks is said first
    fitted = {name: fit(train, name) for name in names}
    return [score(name, test.values, fitted[name].predict(test.times, level)) for name in reversed(names)]


def score(name: str, actual: np.ndarray, prediction: Prediction) -> Score:
    seen = ~np.isnan(actual)
    busy = seen & (actual > 0)
    mape = float(np.mean(np.abs(prediction.expected[busy] - actual[busy]) / actual[busy]) * 100) if busy.any() else None
    inside = (actual[seen] >= prediction.low[seen]) & (actual[seen] <= prediction.high[seen])
    return Score(name, int(seen.sum()), mape, float(inside.mean()) if seen.any() else None)


@dataclass(frozen=True)
class Anomaly:
    time: dt.datetime
    observed: float
    expected: float
    low: float
    high: float
    direction: str
    score: float
    """How far outside the band, in band half-widths (log space): 0 at the edge."""


def anomalies(series: Series, recent: int, level: float = 0.99, model: str = "harmonic") -> list[Anomaly]:
    """Buckets of the last `recent` seconds outside the band the model expects from the history before them."""
    cut = int(series.times[-1]) + _step(series) - recent
    history, now = series.before(cut), series.since(cut)
    prediction = fit(history, model).predict(now.times, level)
    return outside(now, prediction)


def outside(observed: Series, prediction: Prediction) -> list[Anomaly]:
    found = []
    for i, value in enumerate(observed.values):
        if np.isnan(value):
            continue
        low, high, expected = prediction.low[i], prediction.high[i], prediction.expected[i]
        if low <= value <= high:
            continue
        center = math.log1p(expected)
        edge, side = (math.log1p(high), "above") if value > high else (math.log1p(low), "below")
        width = max(abs(edge - center), 1e-9)
        found.append(Anomaly(utc(observed.times[i]), float(value), float(expected), float(low), float(high), side,
                             round(abs(math.log1p(value) - edge) / width, 2)))
    return found


def utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(seconds), dt.UTC)
