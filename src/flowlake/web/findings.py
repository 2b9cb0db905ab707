"""The dashboard's findings: the stored findings over a range, and one finding's evidence.

The list reads the lake's `findings` table. The evidence runs the finding's own query (the SQL
`flowlake findings` stored with it) in the console's sandbox, over the finding's time span only: its
flows, a per-minute timeline and the talkers involved.
"""

from __future__ import annotations

import datetime as dt

from flowlake.engine.duckdb import connect
from flowlake.findings import ORDER, SEVERITIES
from flowlake.lake.store import Lake
from flowlake.timerange import TimeRange
from flowlake.web import sandbox
from flowlake.web.dashboard import Period, QuestionError

LIST_ROWS = 1000
EVIDENCE_ROWS = 500
EVIDENCE_SECONDS = 30.0


def listing(lake: Lake, period: Period, severities: list[str], rule: str | None) -> dict:
    """Findings active in the period (most severe, then newest first), with counts by severity and rule."""
    unknown = sorted(set(severities) - set(SEVERITIES))
    if unknown:
        raise QuestionError(f"severity is one of {', '.join(SEVERITIES)}, not {', '.join(unknown)}")
    con, _ = connect(lake)
    active = "(select * from findings where last_seen >= $start and first_seen < $end) active"
    params: dict = {"start": period.start, "end": period.end}
    counts = [con.execute(f"select {key}, count(*) from {active} group by 1 order by 2 desc, 1", params).fetchall()
              for key in ("severity", "rule")]
    conditions = ["true"]
    if severities:
        conditions.append("list_contains($severities, severity)")
        params["severities"] = severities
    if rule:
        conditions.append("rule = $rule")
        params["rule"] = rule
    where = " and ".join(conditions)
    newest_first = ORDER.replace("first_seen", "first_seen desc")
    rows = con.sql(f"select * from {active} where {where} order by {newest_first} limit {LIST_ROWS}",
                   params=params).to_arrow_table().to_pylist()
    [(total,)] = con.execute(f"select count(*) from {active} where {where}", params).fetchall()
    by_severity = dict(counts[0])
    return {"findings": rows, "total": total,
            "severities": [{"severity": s, "count": by_severity.get(s, 0)} for s in reversed(SEVERITIES)],
            "rules": [{"rule": r, "count": n} for r, n in counts[1]]}


def evidence(lake: Lake, finding_id: str) -> dict | None:
    """The finding, the flows its query returns, their per-minute timeline and the top talkers."""
    con, _ = connect(lake)
    found = con.sql("select * from findings where id = $id", params={"id": finding_id}).to_arrow_table().to_pylist()
    if not found:
        return None
    finding = found[0]
    span = TimeRange(finding["first_seen"], finding["last_seen"] + dt.timedelta(seconds=1))
    con, _ = connect(lake, span, private=True)
    sandbox.lock(con, lake.root)
    query = finding["query"]

    def run(sql: str, limit: int) -> list[dict]:
        try:
            return sandbox.run(con, sql, limit=limit, timeout=EVIDENCE_SECONDS).table.to_pylist()
        except sandbox.SqlRefused as exc:
            raise QuestionError(f"the finding's query does not run: {exc}") from None

    return {
        "finding": finding,
        "flows": run(query, EVIDENCE_ROWS),
        "timeline": run(f"select date_trunc('minute', start_time) as minute, count(*) as flows, sum(bytes) as bytes"
                        f" from ({query}) evidence group by 1 order by 1", 10_000),
        "talkers": run(f"select srcaddr, dstaddr, count(*) as flows, sum(bytes) as bytes from ({query}) evidence"
                       " group by 1, 2 order by bytes desc, flows desc limit 10", 10),
    }
