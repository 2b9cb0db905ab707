"""Forecast benchmark: flowlake's model beside the seasonal-naive baseline and Holt-Winters, on the same held-out week.

For each seed, `--records` records of `flowlake generate` (all formats) over `--days` days ending at a fixed
instant are generated and ingested once (cached in `--out`). The generator's traffic has a daily cycle
peaking at 14:00 UTC, weekends at half and Fridays at 0.9 of the weekday rate, a 2 % a day trend, noise and
rare bursts (`flowlake.generate._intensity`), and heavy-tailed flow sizes, as real traffic has.

Series: hourly bytes, packets and flows of all traffic, and bytes of the busiest account, over the last
`--history` days. The last week is held out; each model learns from the rest and forecasts it:

- harmonic: flowlake's model (`flowlake.forecast.Harmonic`), its 80 % interval from its own week-ahead errors;
- seasonal-naive: the same hour last week, its interval from its own week-on-week errors;
- Holt-Winters: statsmodels' `ExponentialSmoothing` on log1p(value), additive damped trend, additive
  seasonality of 168 hours (the week, which holds the day), gaps interpolated; its 80 % interval from 500
  simulated paths.

MAPE is over held-out hours with traffic; coverage is the share of held-out hours inside the 80 % interval.
Fit time is per series (one thread; the machine is shared, so read it as a ratio).

    .venv/bin/python bench/forecast.py [--seeds 1,2,3] [--records 2000000] [--days 42] [--out bench/out]
        [--write-doc]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from statsmodels.tsa.holtwinters import ExponentialSmoothing
from threadpoolctl import threadpool_limits

import reports  # bench/reports.py: log(), the machine, the section writer
from flowlake import forecast
from flowlake.engine.duckdb import connect
from flowlake.generate import generate
from flowlake.lake.store import Lake

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "forecast.md"
BEGIN_MARK = "<!-- bench/forecast.py: begin (generated; text outside the marks is kept) -->"
END_MARK = "<!-- bench/forecast.py: end -->"
END = reports.END
HOLDOUT = forecast.WEEK
LEVEL = 0.8
MODELS = ("harmonic", "seasonal-naive", "holt-winters")


@dataclass
class Result:
    seed: int
    series: str
    model: str
    mape: float
    coverage: float
    seconds: float


def prepare(seed: int, records: int, days: int, out: Path) -> Path:
    """The lake of one seed's generated data, reused when it exists."""
    tag = f"forecast-{seed}-{records}-{days}d"
    lake, done = out / f"{tag}-lake", out / f"{tag}-lake.done"
    if done.exists():
        return lake
    data = out / f"{tag}-data"
    shutil.rmtree(data, ignore_errors=True)
    shutil.rmtree(lake, ignore_errors=True)
    generate(data, records=records, seed=seed, days=days, end=END, records_per_object=20_000)
    subprocess.run([sys.executable, "-m", "flowlake", "ingest", str(data), "--lake", str(lake)], check=True,
                   stdout=subprocess.DEVNULL, env={**os.environ, "FLOWLAKE_GRACE_SECONDS": "0"})
    shutil.rmtree(data)
    done.touch()
    reports.log(f"seed {seed}: generated and ingested {records:,} records")
    return lake


def series_of(lake: Path, history: int) -> dict[str, forecast.Series]:
    con, _ = connect(Lake(lake), forecast.span(Lake(lake), forecast.Question(history=history)), rollups=True)
    found = {}
    for metric in forecast.METRICS:
        [found[metric]] = forecast.load(con, forecast.Question(metric=metric, history=history))
    [busiest] = forecast.load(con, forecast.Question(by="account", top=1, history=history))
    found["account bytes"] = busiest
    return found


def holt_winters(train: forecast.Series, test: forecast.Series) -> forecast.Prediction:
    logged = pd.Series(np.log1p(train.values)).interpolate(limit_direction="both")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = ExponentialSmoothing(logged.to_numpy(), trend="add", damped_trend=True, seasonal="add",
                                      seasonal_periods=168, initialization_method="estimated").fit()
        paths = fitted.simulate(len(test.times), repetitions=500, error="add", anchor="end")
    low, high = np.quantile(paths, [(1 - LEVEL) / 2, (1 + LEVEL) / 2], axis=1)
    return forecast.Prediction(test.times, np.expm1(fitted.forecast(len(test.times))), np.expm1(low),
                               np.expm1(high), LEVEL)


def run(seed: int, name: str, whole: forecast.Series) -> list[Result]:
    cut = int(whole.times[-1]) + 3600 - HOLDOUT
    train, test = whole.before(cut), whole.since(cut)
    results = []
    for model in MODELS:
        began = time.perf_counter()
        with threadpool_limits(1, "blas"):
            prediction = holt_winters(train, test) if model == "holt-winters" else \
                forecast.fit(train, model).predict(test.times, LEVEL)
        seconds = time.perf_counter() - began
        score = forecast.score(model, test.values, prediction)
        results.append(Result(seed, name, model, score.mape, score.coverage, seconds))
        reports.log(f"seed {seed} {name} {model}: MAPE {score.mape:.1f} %, coverage {score.coverage:.2f}, "
                    f"{seconds:.2f} s")
    return results


def section(args: argparse.Namespace, results: list[Result], minutes: float) -> str:
    by_model = {m: [r for r in results if r.model == m] for m in MODELS}
    baseline = {(r.seed, r.series): r.mape for r in by_model["seasonal-naive"]}
    lines = [
        *reports.section_head(BEGIN_MARK, reports.command_line(
            [".venv/bin/python bench/forecast.py", f"--seeds {args.seeds}", f"--records {args.records}",
             f"--days {args.days}"], args.out)),
        f"Machine: {reports.machine()}. Measured on {dt.date.today().isoformat()} in {minutes:.1f} minutes, on a "
        "machine shared with other work.",
        "",
        f"{len(baseline)} series ({len(args.seeds.split(','))} seeds × bytes, packets and flows of all traffic and "
        f"bytes of the busiest account), {args.history} days of history, the last week held out.",
        "",
        "| model | median MAPE | MAPE vs seasonal-naive (median) | series ≥ 20 % better than seasonal-naive "
        "| 80 % interval coverage (mean, min–max) | fit s per series (median) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for model, rows in by_model.items():
        ratios = [r.mape / baseline[(r.seed, r.series)] for r in rows]
        better = sum(ratio <= 0.8 for ratio in ratios)
        coverage = [r.coverage for r in rows]
        lines.append(f"| {model} | {statistics.median(r.mape for r in rows):.1f} % | "
                     f"{statistics.median(ratios):.2f} | {better} of {len(rows)} | "
                     f"{statistics.mean(coverage):.2f} ({min(coverage):.2f}–{max(coverage):.2f}) | "
                     f"{statistics.median(r.seconds for r in rows):.2f} |")
    lines += ["", "Per series (MAPE %, coverage):", "",
              "| seed | series | " + " | ".join(MODELS) + " |", "|---|---|" + "---:|" * len(MODELS)]
    for seed, name in baseline:
        cells = [next(f"{r.mape:.1f} ({r.coverage:.2f})" for r in results
                      if (r.seed, r.series, r.model) == (seed, name, m)) for m in MODELS]
        lines.append(f"| {seed} | {name} | " + " | ".join(cells) + " |")
    lines += ["", END_MARK]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--days", type=int, default=42)
    parser.add_argument("--history", type=int, default=35, help="days of history each series learns from")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--write-doc", action="store_true", help="write the results into docs/forecast.md")
    args = parser.parse_args()
    began = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    for seed in (int(s) for s in args.seeds.split(",")):
        lake = prepare(seed, args.records, args.days, args.out.resolve())
        for name, whole in series_of(lake, args.history * forecast.DAY).items():
            results += run(seed, name, whole)
    text = section(args, results, (time.perf_counter() - began) / 60)
    print(text)
    if args.write_doc:
        reports.write_section("## Measured accuracy", BEGIN_MARK, END_MARK, text, doc_path=DOC)
        reports.log(f"wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
