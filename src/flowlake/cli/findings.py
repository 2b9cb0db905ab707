"""`flowlake findings`: run the detection rules, print the findings, store them in the lake."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

import click

from flowlake import findings
from flowlake.cli import Engine, UsageProblem, cli, engine_options, lake_option, open_lake, time_options
from flowlake.cli.query import emit
from flowlake.output import FORMATS, jsonable
from flowlake.timerange import TimeRange, parse_duration


def rule_input_options(f: Callable) -> Callable:
    """`--threat-list`, `--intents` and `--baseline`: what the rules read besides the flows (for `findings` and
    for `athena sql RULE`)."""
    f = click.option("--baseline", default="7d", show_default=True, metavar="DURATION",
                     help="History before the range that baseline rules compare with.")(f)
    f = click.option("--intents", type=click.Path(dir_okay=False, path_type=Path),
                     help="YAML file of named CIDR groups and segmentation intents.")(f)
    return click.option("--threat-list", "threat_lists", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
                        help="Addresses or CIDRs, one a line with # comments, or CSV (repeatable).")(f)


@cli.command("findings")
@lake_option
@time_options
@click.option("--format", "fmt", type=click.Choice([*FORMATS, "ocsf"]), default="table", show_default=True,
              help="Output format (ocsf: one OCSF Detection Finding per line).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to FILE instead of standard output.")
@click.option("--rules", "rule_dirs", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="A folder of your own rule .sql files (repeatable).")
@click.option("--rule", "only", multiple=True, metavar="NAME", help="Run only this rule (repeatable).")
@rule_input_options
@click.option("--store/--no-store", "keep", default=True, show_default=True,
              help="Store the findings in the lake's `findings` table.")
@click.option("--list", "list_", is_flag=True, help="List the rules, one per line.")
@engine_options
def findings_command(lake: Path, when: TimeRange, fmt: str, output: Path | None, rule_dirs: tuple[Path, ...],
                     only: tuple[str, ...], threat_lists: tuple[Path, ...], intents: Path | None, baseline: str,
                     keep: bool, list_: bool, engine: Engine) -> None:
    """Run the detection rules over the lake (by default the last 24 hours of data) and print the findings."""
    the_lake = open_lake(lake)
    try:
        rules = findings.load_rules(the_lake, list(rule_dirs))
        if list_:
            width = max(len(n) for n in rules)
            for rule in sorted(rules.values(), key=lambda r: r.name):
                click.echo(f"{rule.name:<{width}}  {rule.severity:<8}  {rule.title}")
            return
        unknown = sorted(set(only) - set(rules))
        if unknown:
            raise UsageProblem(f"no rule named {', '.join(unknown)}; `flowlake findings --list` shows them")
        back = parse_duration(baseline)
        inputs = findings.Inputs.read(list(threat_lists), intents)
        con = findings.find(the_lake, when, back, [r for n, r in sorted(rules.items()) if not only or n in only],
                            inputs, keep, engine.connect)
    except (findings.FindingsError, ValueError) as exc:
        raise UsageProblem(str(exc)) from None
    reader = findings.results(con, compact=fmt == "table")
    if fmt != "ocsf":
        emit(reader, fmt, output)
        return
    descriptions = {name: rule.description for name, rule in rules.items()}
    with open(output, "w") if output else contextlib.nullcontext(sys.stdout) as out:
        for batch in reader:
            for row in batch.to_pylist():
                out.write(json.dumps(findings.ocsf(row, descriptions), default=jsonable) + "\n")

