"""Findings benchmark: every built-in rule over the last 24 hours of a big lake, all together and one by one.

Generates `--records` records of `flowlake generate` (v2 text) over `--days` days (30 by default, the
report benchmark's span: about 1.7 million records a day at 50 million) ending at a fixed instant,
plus `generate --incidents` (so every rule has something to find), and ingests them once; both are cached
in `--out` and reused while the parameters stay the same. Then `flowlake findings` runs in-process, as the
command runs it (connect with the 7-day baseline, every rule, the findings in a temp table; not stored),
over the last day with the generated threat lists and intents: once to warm up, then `--runs` times, all
rules together; then each rule alone, as many times. Medians; the goal is under 10 s for all rules over
24 hours of a 50-million-record lake.

    .venv/bin/python bench/findings.py [--records 50000000] [--days 30] [--runs 3] [--out bench/out] [--write-doc]
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
from pathlib import Path

import reports  # bench/reports.py: log(), the machine, the section writer
from flowlake import findings
from flowlake.engine.duckdb import connect
from flowlake.generate import generate
from flowlake.incidents import RULE_INPUTS, inject
from flowlake.lake.store import Lake
from flowlake.timerange import TimeRange

ROOT = Path(__file__).resolve().parent.parent
BEGIN_MARK = "<!-- bench/findings.py: begin (generated; text outside the marks is kept) -->"
END_MARK = "<!-- bench/findings.py: end -->"
END = reports.END
DAY = dt.timedelta(days=1)
BASELINE = dt.timedelta(days=7)
GOAL_SECONDS = 10.0


def prepare(records: int, days: int, out: Path) -> tuple[Path, Path]:
    """(generated folder with the rule inputs, lake), reused when they exist."""
    tag = f"findings-{records}-{days}d"
    data, lake, done = out / f"{tag}-data", out / f"{tag}-lake", out / f"{tag}-lake.done"
    if done.exists():
        return data, lake
    shutil.rmtree(data, ignore_errors=True)
    shutil.rmtree(lake, ignore_errors=True)
    generate(data, records=records, seed=reports.SEED, days=days, end=END, records_per_object=20_000,
             formats=("v2-text",))
    inject(data, seed=reports.SEED, end=END)
    subprocess.run([sys.executable, "-m", "flowlake", "ingest", str(data), "--lake", str(lake)], check=True,
                   stdout=subprocess.DEVNULL, env={**os.environ, "FLOWLAKE_GRACE_SECONDS": "0"})
    done.touch()
    reports.log(f"generated and ingested {records:,} records over {days} days")
    return data, lake


def timed(lake: Lake, rules: list, inputs: findings.Inputs) -> tuple[float, int]:
    """Seconds for one run of `rules` over the last day, and the findings it made."""
    began = time.perf_counter()
    con = findings.find(lake, TimeRange(END - DAY, END), BASELINE, rules, inputs, keep=False)
    [(made,)] = con.execute(f"select count(*) from {findings.FOUND}").fetchall()
    return time.perf_counter() - began, made


def medians(lake: Lake, rules: list, inputs: findings.Inputs, runs: int) -> tuple[float, int]:
    timed(lake, rules, inputs)
    results = [timed(lake, rules, inputs) for _ in range(runs)]
    return statistics.median(s for s, _ in results), results[0][1]


def records_read(lake: Lake) -> tuple[int, int]:
    """Records of the last day, and of the day with its baseline: what the rules read."""
    con, _ = connect(lake, TimeRange(END - DAY - BASELINE, END))
    try:
        return con.execute("select count(*) filter (where start_time >= $day), count(*) from flows",
                           {"day": END - DAY}).fetchone()
    finally:
        con.close()


def section(args: argparse.Namespace, total: tuple[float, int], each: dict[str, tuple[float, int]],
            read: tuple[int, int]) -> str:
    seconds, made = total
    goal = ("met" if seconds < GOAL_SECONDS else "not met") if args.records >= 50_000_000 else \
        f"not measured at that size yet (this run: {args.records:,} records)"
    lines = [
        *reports.section_head(BEGIN_MARK, reports.command_line(
            [".venv/bin/python bench/findings.py", f"--records {args.records}", f"--days {args.days}",
             f"--runs {args.runs}"], args.out)),
        f"Machine: {reports.machine()}. Measured on {dt.date.today().isoformat()}, on a machine shared with "
        "other work.",
        "",
        f"Data: {args.records:,} records of `flowlake generate` v2 text over {args.days} days (seed {reports.SEED}) "
        "plus `--incidents`. `flowlake findings` in-process over the last 24 hours with the 7-day baseline, the "
        f"generated threat lists and intents; one warm-up run, then the median of {args.runs}. The last 24 hours "
        f"hold {read[0]:,} records; with the baseline the rules read {read[1]:,}.",
        "",
        f"All {len(each)} built-in rules together: **{seconds:.2f} s**, {made:,} findings. Goal (under "
        f"{GOAL_SECONDS:.0f} s over 24 hours of a 50-million-record lake): {goal}.",
        "",
        "| rule | seconds (median) | findings |",
        "|---|---:|---:|",
        *(f"| `{rule}` | {s:.2f} | {n:,} |" for rule, (s, n) in sorted(each.items(), key=lambda kv: -kv[1][0])),
        "",
        END_MARK,
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--write-doc", action="store_true", help="write the results into docs/benchmarks.md")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    data, lake = prepare(args.records, args.days, args.out.resolve())
    given = data / RULE_INPUTS
    inputs = findings.Inputs.read([given / "c2.txt", given / "tor-exits.csv"], given / "intents.yaml")
    rules = findings.load_rules(None, [])
    total = medians(Lake(lake), list(rules.values()), inputs, args.runs)
    reports.log(f"all rules: {total[0]:.2f} s, {total[1]:,} findings")
    each = {}
    for name, rule in rules.items():
        each[name] = medians(Lake(lake), [rule], inputs, args.runs)
        reports.log(f"{name}: {each[name][0]:.2f} s")
    text = section(args, total, each, records_read(Lake(lake)))
    print(text, flush=True)
    if args.write_doc:
        reports.write_section("## Findings", BEGIN_MARK, END_MARK, text, before="## Forecast accuracy")


if __name__ == "__main__":
    main()
