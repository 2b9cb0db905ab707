"""`flowlake explain`: why traffic between two addresses is not getting through."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path

import click
import pyarrow as pa

from flowlake import explain
from flowlake.cli import UsageProblem, cli, ip_ranges_option, lake_option, open_lake, output_options, time_options
from flowlake.cli.query import emit
from flowlake.engine.duckdb import connect
from flowlake.output import jsonable
from flowlake.timerange import TimeRange


@cli.command("explain")
@lake_option
@click.option("--src", required=True, metavar="IP_OR_CIDR", help="Where the traffic comes from (the client).")
@click.option("--dst", required=True, metavar="IP_OR_CIDR", help="Where it goes (the server).")
@click.option("--port", type=int, metavar="N", help="The destination port of the request (the response's source port).")
@click.option("--protocol", metavar="tcp|udp|icmp|N", help="A protocol name or number.")
@time_options
@ip_ranges_option
@output_options()
def explain_command(lake: Path, src: str, dst: str, port: int | None, protocol: str | None, when: TimeRange,
                    prepare: Callable | None, fmt: str, output: Path | None) -> None:
    """Say why traffic from --src to --dst is not getting through, with the flows both ways as evidence.

    table and json give the verdict, the evidence per interface, the address pairs (with country and AS)
    and a time series; csv, jsonl and parquet the evidence rows alone.
    """
    if fmt == "table" and output is not None:
        raise UsageProblem("--output takes csv, json, jsonl or parquet for explain")
    try:
        question = explain.Question.parse(src, dst, port, protocol)
    except explain.ExplainError as exc:
        raise UsageProblem(str(exc)) from None
    con, _ = connect(open_lake(lake), when, prepare=prepare)
    diagnosis = explain.explain(con, question, when)
    if fmt == "json":
        text = json.dumps(diagnosis.to_json(), default=jsonable, indent=2) + "\n"
        if output is None:
            click.echo(text, nl=False)
        else:
            output.write_text(text)
        return
    if fmt == "table":
        _say(diagnosis)
    if diagnosis.evidence or fmt != "table":
        emit(_reader(diagnosis.evidence), fmt, output if fmt != "table" else None)
    if fmt == "table" and diagnosis.sources:
        click.echo("\nRequests by address pair, with each end's class, country and AS:")
        emit(_reader(diagnosis.sources), fmt, None)
    if fmt == "table" and diagnosis.series:
        click.echo("\nOver time:")
        emit(_reader(diagnosis.series), fmt, None)


def _say(diagnosis: explain.Diagnosis) -> None:
    lines = [f"{diagnosis.headline} [{diagnosis.verdict}]", *textwrap.wrap(diagnosis.summary, 100),
             *[line for detail in diagnosis.details for line in textwrap.wrap(detail, 100)], ""]
    click.echo("\n".join(lines))


def _reader(rows: list[dict]) -> pa.RecordBatchReader:
    if rows:
        return pa.Table.from_pylist(rows).to_reader()
    return pa.Table.from_pydict({"interface_id": pa.array([], pa.string())}).to_reader()
