"""S3 benchmark: `flowlake ingest s3://...` beside the local-folder ingest of the same objects, and the freshness
of `flowlake watch s3://...` (upload to queryable), against moto's S3 server on loopback.

1. Data: `--records` records of `flowlake generate` v2 text (seed 1, 7 days ending 2026-11-27) in objects of
   about `--objects-records` records, in AWS's S3 layout, cached in `--out` (reused while the parameters
   match). moto's standalone server starts in a child process on a free 127.0.0.1 port; every object is
   uploaded under its relative key (boto3, a thread pool).
2. Throughput: `flowlake ingest s3://BUCKET/ --endpoint-url URL` and `flowlake ingest FOLDER` of the same
   objects, each in its own process with a fresh lake and `--workers` workers, `--runs` times each,
   alternating (the order flips every round); medians. Beside them, a plain boto3 download of every object
   (list, then GetObject with a thread pool of the same worker count, nothing decoded): the floor any S3
   reader has against this server. moto's own CPU time during each run is read from /proc. Every lake must
   hold the generated number of records and the same `count(*)` and `sum(bytes)`.
3. Freshness: `flowlake watch s3://FRESH/ --interval 10s --endpoint-url URL` on an empty second bucket;
   `--fresh-objects` objects dated today (seed 2) are uploaded one at a time, each at a random moment (0 to one
   interval after the previous one became queryable); the lake is polled in-process (a connection as
   `flowlake query` opens it, `select count(*) from flows`) every `--poll` s until the object's records are
   there. Then watch gets SIGTERM and must exit 0; `flowlake query` checks the lake once more.

The machine is shared: read the ratios (same run, alternated), not the seconds.

    .venv/bin/python bench/s3.py [--records 10000000] [--objects-records 5000] [--runs 3] [--out bench/out]
        [--write-doc]

Quick check: `--records 200000 --runs 1 --fresh-objects 3`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import moto
from botocore.config import Config

import reports  # bench/reports.py: the cache stamps, log(), the machine's description
from flowlake.engine.duckdb import connect
from flowlake.generate import generate
from flowlake.lake.store import Lake

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
END = reports.END
SEED = 1
FRESH_SEED = 2
BUCKET = "flow-logs-bench"
FRESH_BUCKET = "flow-logs-fresh"
REGION = "us-east-1"
UPLOAD_THREADS = 8
INTERVAL = 10.0
GOAL_RATIO = 0.7
CAP = 1.6
"""generate() cuts objects at `records_per_object` at most, and its spans (divisors of a day) make most smaller:
asking for 1.6× the wanted mean gives objects of about that mean (10,000,000 records at 8,000: 1,905 objects of
5,249 on average)."""
BEGIN_MARK = "<!-- bench/s3.py: begin (generated; text outside the marks is kept) -->"
END_MARK = "<!-- bench/s3.py: end -->"
HEADING = "## S3 and freshness"
log = reports.log

AWS_ENV = {
    # Fake credentials, and nothing of this machine's AWS configuration: the only AWS is the loopback server.
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}

MOTO = """
import sys
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
server = ThreadedMotoServer("127.0.0.1", 0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()  # serve until the benchmark closes this pipe (or dies)
"""

DOWNLOAD = """
import json, sys, time
from concurrent.futures import ThreadPoolExecutor
import boto3
from botocore.config import Config
url, bucket, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
config = Config(retries={"mode": "standard", "max_attempts": 8}, max_pool_connections=workers + 2,
                s3={"addressing_style": "path"})
s3 = boto3.client("s3", endpoint_url=url, config=config)
began = time.perf_counter()
keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for o in page.get("Contents", [])]
listed = time.perf_counter() - began
with ThreadPoolExecutor(workers) as pool:
    sizes = list(pool.map(lambda key: len(s3.get_object(Bucket=bucket, Key=key)["Body"].read()), keys))
print(json.dumps({"objects": len(keys), "bytes": sum(sizes), "list_seconds": listed,
                  "seconds": time.perf_counter() - began}))
"""

# ---------------------------------------------------------------------------------------------
# Data and the server.


def prepare(records: int, per_object: int, out: Path) -> Path:
    """The generated objects (about `per_object` records each on average), reused while the parameters match."""
    params = {"records": records, "days": 7, "seed": SEED, "end": END.isoformat(),
              "records_per_object": round(per_object * CAP), "formats": ["v2-text"]}
    data = out / f"s3-{records}-{per_object}-data"
    if reports._stamp(data) != params:
        shutil.rmtree(data, ignore_errors=True)
        began = time.perf_counter()
        generate(data, records=records, seed=SEED, days=7, end=END, records_per_object=params["records_per_object"],
                 formats=("v2-text",))
        log(f"generated {records:,} records in {time.perf_counter() - began:.0f} s")
        reports._stamp(data, params)
    return data


def objects_in(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.log.gz"))


class Moto:
    """moto's standalone server in a child process on a free loopback port."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([PY, "-c", MOTO], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)
        self.url = f"http://127.0.0.1:{int(self.process.stdout.readline())}"

    def cpu(self) -> float:
        """CPU seconds (user + system) the server has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def client(self, connections: int = 10) -> Any:
        return boto3.client("s3", endpoint_url=self.url, region_name=REGION, aws_access_key_id="testing",
                            aws_secret_access_key="testing", config=Config(max_pool_connections=connections))

    def stop(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Upload:
    objects: int
    bytes: int
    seconds: float
    moto_cpu: float


def upload(server: Moto, bucket: str, data: Path) -> Upload:
    s3 = server.client(UPLOAD_THREADS)
    s3.create_bucket(Bucket=bucket)
    files = objects_in(data)
    began, cpu = time.perf_counter(), server.cpu()

    def put(path: Path) -> int:
        body = path.read_bytes()
        s3.put_object(Bucket=bucket, Key=path.relative_to(data).as_posix(), Body=body)
        return len(body)

    with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
        sent = sum(pool.map(put, files))
    done = Upload(len(files), sent, time.perf_counter() - began, server.cpu() - cpu)
    listed = sum(page.get("KeyCount", 0) for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket))
    if listed != len(files):
        raise SystemExit(f"uploaded {len(files)} objects, the bucket lists {listed}")
    return done


# ---------------------------------------------------------------------------------------------
# Throughput.


@dataclass
class Run:
    kind: str
    seconds: float
    cpu: float
    """User + system CPU seconds of the process."""
    peak_mib: float
    moto_cpu: float
    """CPU seconds moto's server used during the run."""
    stats: dict
    totals: tuple[int, int] | None = None
    """The lake's `count(*)` and `sum(bytes)`."""
    files: int = 0


KINDS = {"local": "flowlake ingest FOLDER", "s3": "flowlake ingest s3://BUCKET/",
         "download": "boto3 download (list + GetObject, no decoding)"}


def execute(kind: str, argv: list[str], lake: Path | None, server: Moto, work: Path) -> Run:
    """One process: wall time, CPU, peak RSS (its stdout: the --json statistics), and moto's CPU meanwhile."""
    if lake is not None:
        shutil.rmtree(lake, ignore_errors=True)
    out, err = work / f"{kind}.stdout", work / f"{kind}.stderr"
    env = {**os.environ, **AWS_ENV, "FLOWLAKE_GRACE_SECONDS": "0"}
    began, moto_began = time.perf_counter(), server.cpu()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(argv, stdout=stdout, stderr=stderr, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    seconds, moto_cpu = time.perf_counter() - began, server.cpu() - moto_began
    if proc.returncode != 0:
        raise SystemExit(f"{KINDS[kind]} exited with {proc.returncode}: {err.read_text()[-2000:]}")
    run = Run(kind, seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, moto_cpu,
              json.loads(out.read_text()))
    if lake is not None:
        run.totals = totals(lake)
        run.files = len(reports.live_files(lake))
        shutil.rmtree(lake)
    return run


def totals(lake: Path) -> tuple[int, int]:
    con, _ = connect(Lake(lake))
    try:
        count, size = con.execute("select count(*), sum(bytes) from flows").fetchone()
    finally:
        con.close()
    return int(count), int(size or 0)


def throughput(args: argparse.Namespace, server: Moto, data: Path, work: Path) -> list[Run]:
    workers = ["--workers", str(args.workers)]
    argvs = {
        "local": [PY, "-m", "flowlake", "ingest", str(data), "--lake", str(work / "lake-local"), "--json", *workers],
        "s3": [PY, "-m", "flowlake", "ingest", f"s3://{BUCKET}/", "--lake", str(work / "lake-s3"),
               "--endpoint-url", server.url, "--json", *workers],
        "download": [PY, "-c", DOWNLOAD, server.url, BUCKET, str(args.workers)],
    }
    lakes = {"local": work / "lake-local", "s3": work / "lake-s3", "download": None}
    runs = []
    for n in range(args.runs):
        order = ("local", "s3") if n % 2 == 0 else ("s3", "local")
        for kind in (*order, "download"):
            runs.append(execute(kind, argvs[kind], lakes[kind], server, work))
            r = runs[-1]
            log(f"round {n + 1}: {kind} {r.seconds:.1f} s (CPU {r.cpu:.1f} s, moto {r.moto_cpu:.1f} s)")
    return runs


def check(runs: list[Run], records: int, objects: int) -> list[str]:
    """What is wrong with the runs' results (nothing: an empty list)."""
    problems = []
    lakes = {r.totals for r in runs if r.totals is not None}
    if len(lakes) != 1:
        problems.append(f"the lakes differ: {sorted(lakes)} (count(*), sum(bytes))")
    for r in runs:
        if r.totals is not None:
            if r.totals[0] != records or r.stats["records"] != records:
                problems.append(f"{r.kind}: {r.totals[0]:,} records in the lake, {r.stats['records']:,} ingested, "
                                f"{records:,} generated")
            if r.stats["failed"] or r.stats["rejected"] or r.stats["ingested"] != objects:
                problems.append(f"{r.kind}: {r.stats['ingested']} objects ingested, {r.stats['failed']} failed, "
                                f"{r.stats['rejected']} lines rejected")
        elif r.stats["objects"] != objects:
            problems.append(f"download: {r.stats['objects']} objects, {objects} uploaded")
    return problems


# ---------------------------------------------------------------------------------------------
# Freshness.


@dataclass
class Fresh:
    records: int
    uploaded_after: float
    """Seconds after watch's previous batch line when the object was in the bucket."""
    seconds: float | None
    """Upload (PutObject answered) to queryable; None: not within the timeout."""


@dataclass
class Watch:
    objects: list[Fresh]
    batches: list[tuple[float, int, float]] = field(default_factory=list)
    """Each batch watch reported: when (s since watch started), records, its own seconds (ingest and compaction)."""
    exit_code: int | None = None
    stop_seconds: float = 0.0
    stopping_line: bool = False
    errors: list[str] = field(default_factory=list)
    check: str = ""


BATCH = re.compile(r"ingested ([\d,]+) records from .* in ([\d.]+)s")


def fresh_objects(out: Path, count: int, per_object: int) -> tuple[Path, list[Path]]:
    """`count` objects of the last 24 hours (watch lists the last two days), each of about `per_object` records."""
    folder = out / "s3-fresh-data"
    shutil.rmtree(folder, ignore_errors=True)
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    generate(folder, records=count * per_object * 3, seed=FRESH_SEED, days=1, end=now,
             records_per_object=round(per_object * CAP), formats=("v2-text",))
    files = objects_in(folder)
    return folder, sorted(random.Random(FRESH_SEED).sample(files, min(count, len(files))))


def queryable(lake: Path) -> int:
    """`count(*)` of the lake as a new `flowlake query` sees it (0 before the lake exists)."""
    try:
        return totals(lake)[0]
    except Exception:  # no lake yet, or a file replaced by compaction between the ledger and the read
        return -1


def freshness(args: argparse.Namespace, server: Moto, work: Path) -> Watch:
    folder, files = fresh_objects(args.out.resolve(), args.fresh_objects, args.objects_records)
    s3 = server.client()
    s3.create_bucket(Bucket=FRESH_BUCKET)
    lake = work / "lake-watch"
    shutil.rmtree(lake, ignore_errors=True)
    argv = [PY, "-m", "flowlake", "watch", f"s3://{FRESH_BUCKET}/", "--lake", str(lake), "--interval",
            f"{INTERVAL:g}s", "--endpoint-url", server.url]
    env = {**os.environ, **AWS_ENV, "FLOWLAKE_GRACE_SECONDS": "0"}
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    started = time.perf_counter()
    result = Watch([])
    lines: list[tuple[float, str]] = []
    first = threading.Event()

    def read() -> None:
        for line in proc.stderr:
            lines.append((time.perf_counter() - started, line.rstrip()))
            if (found := BATCH.search(line)) is not None:
                result.batches.append((lines[-1][0], int(found[1].replace(",", "")), float(found[2])))
                first.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    rng = random.Random(FRESH_SEED)
    try:
        if not first.wait(120):
            raise SystemExit("flowlake watch reported no batch in 120 s: " + " | ".join(t for _, t in lines[-5:]))
        expected = 0
        for path in files:
            time.sleep(rng.uniform(0, INTERVAL))
            body = path.read_bytes()
            records = len(gzip.decompress(body).splitlines()) - 1  # the header line
            s3.put_object(Bucket=FRESH_BUCKET, Key=path.relative_to(folder).as_posix(), Body=body)
            put = time.perf_counter()
            last_batch = result.batches[-1][0] if result.batches else 0.0
            expected += records
            seconds = None
            while time.perf_counter() - put < 3 * INTERVAL + 30:
                if queryable(lake) >= expected:
                    seconds = time.perf_counter() - put
                    break
                time.sleep(args.poll)
            result.objects.append(Fresh(records, put - started - last_batch, seconds))
            log(f"fresh object {len(result.objects)}: {records:,} records, "
                + (f"queryable after {seconds:.1f} s" if seconds is not None else "not queryable in time"))
            if seconds is None:
                expected = max(expected - records, queryable(lake))
    finally:
        stopping = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        try:
            result.exit_code = proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        result.stop_seconds = time.perf_counter() - stopping
        reader.join(5)
    result.stopping_line = any("stopping after this batch" in text for _, text in lines)
    result.errors = [text for _, text in lines if re.search(r"Traceback|Error|error|[1-9][\d,]* failed", text)]
    query = subprocess.run([PY, "-m", "flowlake", "query", "--lake", str(lake), "--format", "json",
                            "select count(*) as records, count(distinct object_id) as objects from flows"],
                           capture_output=True, text=True, env=env)
    want = {"records": sum(f.records for f in result.objects if f.seconds is not None),
            "objects": sum(f.seconds is not None for f in result.objects)}
    got = json.loads(query.stdout)[0] if query.returncode == 0 else {"error": query.stderr.strip()[-300:]}
    result.check = "matched" if got == want else f"did not match: flowlake query said {got}, expected {want}"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(lake, ignore_errors=True)
    return result


# ---------------------------------------------------------------------------------------------
# Report.


def median(runs: list[Run], kind: str, attr: str = "seconds") -> float:
    return statistics.median(getattr(r, attr) for r in runs if r.kind == kind)


def rate(records: int, seconds: float) -> str:
    return f"{records / seconds:,.0f}"


def table(runs: list[Run], records: int) -> str:
    local = median(runs, "local")
    lines = ["| run | seconds (median) | each run | records/s | ÷ local | CPU s of the process | moto's CPU s | "
             "peak memory | Parquet files |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for kind in KINDS:
        mine = [r for r in runs if r.kind == kind]
        seconds = median(runs, kind)
        files = f"{mine[0].files}" if mine[0].totals is not None else "-"
        lines.append(f"| {KINDS[kind]} | {seconds:.2f} | {', '.join(f'{r.seconds:.1f}' for r in mine)} | "
                     f"{rate(records, seconds)} | {local / seconds:.2f}× | {median(runs, kind, 'cpu'):.1f} | "
                     f"{median(runs, kind, 'moto_cpu'):.1f} | {median(runs, kind, 'peak_mib'):,.0f} MiB | {files} |")
    return "\n".join(lines)


def ratios(runs: list[Run]) -> list[float]:
    """S3 ÷ local throughput in each round (local seconds ÷ S3 seconds)."""
    local = [r.seconds for r in runs if r.kind == "local"]
    s3 = [r.seconds for r in runs if r.kind == "s3"]
    return [a / b for a, b in zip(local, s3, strict=True)]


def fresh_table(watch: Watch) -> str:
    done = [f.seconds for f in watch.objects if f.seconds is not None]
    busy = [s for _, n, s in watch.batches if n > 0]
    idle = [s for _, n, s in watch.batches if n == 0]

    def cell(values: list[float], pick: Any) -> str:
        return f"{pick(values):.1f}" if values else "-"

    return "\n".join([
        "| objects | queryable in time | p50 upload → queryable | max | batches that ingested an object (p50 s) | "
        "empty batches (p50 s) |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {len(watch.objects)} | {len(done)} | {cell(done, statistics.median)} | {cell(done, max)} | "
        f"{cell(busy, statistics.median)} ({len(busy)}) | {cell(idle, statistics.median)} ({len(idle)}) |",
    ])


def goals(runs: list[Run], watch: Watch | None) -> list[str]:
    ratio = median(runs, "local") / median(runs, "s3")
    each = ", ".join(f"{r:.2f}" for r in ratios(runs))
    lines = [f"- S3 ingest at least {GOAL_RATIO}× the local ingest's records/s: {ratio:.2f}× (median seconds; "
             f"per round {each}): {'met' if ratio >= GOAL_RATIO else 'not met'}"]
    if watch is not None:
        done = [f.seconds for f in watch.objects if f.seconds is not None]
        worst = max(done) if len(done) == len(watch.objects) and done else None
        verdict = ("met" if worst is not None and worst < 2 * INTERVAL else "not met")
        shown = f"max {worst:.1f} s" if worst is not None else f"{len(watch.objects) - len(done)} objects never"
        lines.append(f"- an object's records queryable under two intervals ({2 * INTERVAL:.0f} s) after its "
                     f"upload under `watch --interval {INTERVAL:g}s`: {shown}, p50 "
                     f"{statistics.median(done) if done else float('nan'):.1f} s: {verdict}")
    return lines


def command(args: argparse.Namespace) -> str:
    parts = [".venv/bin/python bench/s3.py", f"--records {args.records}", f"--objects-records {args.objects_records}",
             f"--runs {args.runs}"]
    if args.workers != 2:
        parts.append(f"--workers {args.workers}")
    if args.fresh_objects != 10:
        parts.append(f"--fresh-objects {args.fresh_objects}")
    return reports.command_line(parts, args.out)


@dataclass
class Context:
    objects: int
    gzip_bytes: int
    upload: Upload
    loadavg: tuple[tuple[float, ...], tuple[float, ...]]
    minutes: float
    problems: list[str]


def section(args: argparse.Namespace, runs: list[Run], watch: Watch | None, ctx: Context) -> str:
    (a1, a5, _), (b1, b5, _) = ctx.loadavg
    up = ctx.upload
    local_cpu, s3_cpu = median(runs, "local", "cpu"), median(runs, "s3", "cpu")
    lake = next(r.totals for r in runs if r.totals is not None)
    download = [r for r in runs if r.kind == "download"]
    listing = statistics.median(r.stats["list_seconds"] for r in download)
    compacted = {r.kind: r.stats["compaction"] for r in runs if r.totals is not None}
    parts = [
        *reports.section_head(BEGIN_MARK, command(args)),
        f"Machine: {reports.machine()}; boto3 {boto3.__version__}, moto {moto.__version__}. Measured on "
        f"{dt.date.today().isoformat()}; the whole run took {ctx.minutes:.1f} minutes. The machine is shared with "
        f"other work (load average {a1:.1f} / {a5:.1f} over 1 / 5 minutes when the run began, {b1:.1f} / {b5:.1f} "
        "when it ended), so read the ratios rather than any one time.",
        "",
        f"Data: {args.records:,} records of `flowlake generate` v2 text over 7 days ending {END:%Y-%m-%d} (seed "
        f"{SEED}), {ctx.objects:,} objects of {args.records / ctx.objects:,.0f} records on average (at most "
        f"{round(args.objects_records * CAP):,}: `generate --records-per-object`) in AWS's S3 layout: "
        f"{ctx.gzip_bytes / 1e6:,.0f} MB of gzip text. moto's standalone server (`ThreadedMotoServer`, one Python "
        f"process) on 127.0.0.1; the objects uploaded under their relative keys with {UPLOAD_THREADS} threads in "
        f"{up.seconds:.0f} s ({up.objects / up.seconds:,.0f} objects/s, {up.bytes / 1e6 / up.seconds:.1f} MB/s; "
        f"moto used {up.moto_cpu:.0f} s of CPU).",
        "",
        f"**Ingest throughput.** Each run in its own process with a fresh lake and `--workers {args.workers}` "
        f"(flowlake's default is 2), {args.runs} run{'s' if args.runs != 1 else ''} each, local and S3 alternating "
        "(the order flips every round), then the download; medians. The download is a plain boto3 client listing "
        f"the bucket and getting every object's body with a pool of {args.workers} threads, decoding nothing: "
        "what moto lets any reader reach. \"moto's CPU s\" is what the server process used during the run (from "
        "/proc), on the same two cores.",
        "",
        table(runs, args.records),
        "",
        f"Checks: every lake held {args.records:,} records from {ctx.objects:,} objects, with the same `count(*)` "
        f"and `sum(bytes)` ({lake[0]:,} and {lake[1]:,})" + (
            "; no object failed and no line was rejected." if not ctx.problems else
            ". Problems: " + "; ".join(ctx.problems) + "."),
        f"The S3 ingest's own CPU was {s3_cpu:.1f} s against {local_cpu:.1f} s locally ({s3_cpu - local_cpu:+.1f} s); "
        f"listing the {ctx.objects:,} keys took {listing:.2f} s of the download's time. Compaction after the "
        f"ingest: local {compacted['local']['files_in']} files into {compacted['local']['files_out']} "
        f"({compacted['local']['rows']:,} rows rewritten), S3 {compacted['s3']['files_in']} into "
        f"{compacted['s3']['files_out']} ({compacted['s3']['rows']:,} rows rewritten) (last run of each).",
        "",
    ]
    if watch is not None:
        sizes = [f.records for f in watch.objects]
        after = statistics.median(f.uploaded_after for f in watch.objects)
        parts += [
            f"**Freshness.** `flowlake watch s3://{FRESH_BUCKET}/ --interval {INTERVAL:g}s --endpoint-url URL` on "
            f"a second, empty bucket; after its first batch, {len(watch.objects)} objects (v2 text of the last 24 "
            f"hours, seed {FRESH_SEED}, {min(sizes):,} to {max(sizes):,} records) uploaded one at a time, each at a "
            f"random moment 0 to {INTERVAL:g} s after the previous one became queryable (so at a random point of "
            f"watch's cycle: the previous batch line came {after:.1f} s "
            "before the upload, median). Upload → queryable: from PutObject's answer until a new connection as "
            "`flowlake query` opens it counts the object's records (polled every "
            f"{args.poll:g} s, in the benchmark's process). A batch's seconds are what watch reports for it "
            "(listing, download, decoding, commit, compaction; rollups come after).",
            "",
            fresh_table(watch),
            "",
            f"Stopping: SIGTERM; watch {'said it would stop after the batch and ' if watch.stopping_line else ''}"
            f"exited with {watch.exit_code} after {watch.stop_seconds:.1f} s. "
            + ("No error lines on its standard error. " if not watch.errors else
               f"Error lines on its standard error: {' | '.join(watch.errors[:3])}. ")
            + f"`flowlake query` afterwards: the lake's records and objects {watch.check}.",
            "",
        ]
    parts += ["Goals:", "", *goals(runs, watch), "", END_MARK]
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--objects-records", type=int, default=5000, help="records per object, on average (about)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="ingest workers, and the download's threads")
    parser.add_argument("--fresh-objects", type=int, default=10, help="objects uploaded under watch (0: skip)")
    parser.add_argument("--poll", type=float, default=0.2, help="seconds between two looks at the watched lake")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--write-doc", action="store_true", help="write the results into docs/benchmarks.md")
    args = parser.parse_args()
    began, loadavg = time.perf_counter(), os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    data = prepare(args.records, args.objects_records, args.out.resolve()).resolve()
    files = objects_in(data)
    work = args.out.resolve() / "s3-work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    server = Moto()
    try:
        up = upload(server, BUCKET, data)
        log(f"uploaded {up.objects:,} objects ({up.bytes / 1e6:,.0f} MB) in {up.seconds:.0f} s")
        runs = throughput(args, server, data, work)
        watch = freshness(args, server, work) if args.fresh_objects else None
    finally:
        server.stop()
    shutil.rmtree(work, ignore_errors=True)
    problems = check(runs, args.records, len(files))
    ctx = Context(len(files), sum(p.stat().st_size for p in files), up, (loadavg, os.getloadavg()),
                  (time.perf_counter() - began) / 60, problems)
    text = section(args, runs, watch, ctx)
    print(text)
    if args.write_doc:
        reports.write_section(HEADING, BEGIN_MARK, END_MARK, text, before="## Dashboard")
        log(f"wrote {reports.DOC.relative_to(ROOT)}")
    if problems:
        raise SystemExit("problems: " + "; ".join(problems))


if __name__ == "__main__":
    main()
