"""The SQL console's sandbox: SQL typed in a browser runs on the server, so it may only read the lake.

Three layers, each built on DuckDB's own machinery rather than on hand-written SQL parsing, so that a
mistake in one of them does not open the machine:

- `lock` restricts the connection itself once its views exist: files only under the lake's data folders,
  no network, no extensions, no spilling to disk, bounded memory, and the configuration locked so that SQL
  cannot loosen any of it.
- `check` reads DuckDB's own parse of the text: exactly one SELECT, no statement hidden inside it (a
  common table expression that writes, `query('...')`), and only table functions that touch no file.
- `run` executes in a transaction that it rolls back, stops the query at the time limit and streams at
  most the row limit, so one query can neither change the next nor exhaust the server.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from flowlake.engine.duckdb import SHARED
from flowlake.lake.findings import FINDINGS_DIR
from flowlake.lake.store import FLOWS_DIR
from flowlake.weblogs import WEB_LOGS_DIR

TABLES = ("flows", "traffic", "vpc_flow_logs", "web_logs", "protocols", "ports", "findings")
"""What the console is for: the lake's views and the reference tables."""
READS_ONLY = f"the SQL console reads only the lake's tables ({', '.join(TABLES)})"

TABLE_FUNCTIONS = frozenset({
    "range", "generate_series", "unnest", "repeat", "repeat_row", "json_each", "json_tree",
    "duckdb_columns", "duckdb_tables", "duckdb_views", "duckdb_functions", "duckdb_types", "duckdb_keywords",
    "pragma_table_info", "pg_timezone_names", "icu_calendar_names",
})
"""Table functions a query may call: they compute rows or describe the tables, and touch no file. Every
other one is refused: file readers, `query()`, and those that change state or take raw memory pointers
(`enable_profiling`, `checkpoint`, `arrow_scan`, ...)."""
SQL_FUNCTIONS = frozenset({"query", "query_table", "json_execute_serialized_sql"})
"""Table functions that run SQL given as a string, which would escape the check."""
REFUSED_FUNCTIONS = frozenset({"write_log", "setval", "nextval"})
"""Scalar functions that change state."""
QUERY_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE"})
"""The kinds of query DuckDB's parse may hold; an INSERT, UPDATE, DELETE or MERGE inside a WITH is another."""
BATCH_ROWS = 65_536
_NO_LOCATION = 2**64 - 1
_CARET = re.compile(r"^(LINE (\d+): )(.*)\n( *)\^", re.MULTILINE)


class SqlRefused(ValueError):
    """SQL the console does not run, or that DuckDB refused: a message for the user, and where in the SQL.

    `position` is a character offset into the SQL the caller gave (or None); `location`, when the SQL is
    known, is the same as `position_of` gives: `{"offset", "line", "column"}`, for the browser to mark.
    """

    def __init__(self, message: str, position: int | None = None, sql: str | None = None) -> None:
        super().__init__(message, position)
        self.message = message
        self.position = position
        self.location = _locate(sql, position) if sql is not None and position is not None else None

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Result:
    """What a query answered: at most the row limit, and whether there was more."""

    columns: list[tuple[str, str]]
    """(name, DuckDB type) of each column."""
    table: pa.Table
    truncated: bool
    elapsed: float
    """Seconds, from the check to the last row fetched."""


def lock(con: duckdb.DuckDBPyConnection, lake_root: Path, *, memory_limit: str = "2GB",
         threads: int | None = None) -> None:
    """Restrict a connection whose views already exist, for SQL from the web: from now on it reads files
    only under the lake's data folders (which the views name by path), reaches no network, loads no
    extension, writes no temporary file, stays within `memory_limit`, and no SQL can change any of that.

    Errors on the connection come as JSON from now on (DuckDB's `errors_as_json`), which carries the exact
    position of the error; `run` and `position_of` read it.
    """
    if _setting(con, "custom_user_agent") == SHARED:
        raise RuntimeError("sandbox.lock needs a database of its own, connect(..., private=True): the settings"
                           " are the database's, and this one is every other connection's too")
    if _setting(con, "lock_configuration"):
        _verify(con)
        return
    root = Path(lake_root).absolute()
    settings: dict[str, object] = {
        # Spilling would write into the server's working folder; it can be set only before external access
        # is switched off.
        "temp_directory": "",
        "allowed_directories": [f"{root / folder}{os.sep}" for folder in (FLOWS_DIR, WEB_LOGS_DIR, FINDINGS_DIR)],
        "allowed_paths": [],
        "enable_external_access": False,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "allow_community_extensions": False,
        "allow_extension_repositories": "forbidden",
        "allow_persistent_secrets": False,
        # A name in SQL would otherwise read a Python variable of the calling code.
        "python_enable_replacements": False,
        "errors_as_json": True,
        "memory_limit": memory_limit,
    }
    if threads is not None:
        settings["threads"] = int(threads)
    settings["lock_configuration"] = True
    for name, value in settings.items():
        con.execute(f"set {name} = {_sql_value(value)}")
    _verify(con)


def check(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    """Refuse, before anything runs, all but a single read-only query; returns its text, to run as it is.

    The statement count and type come from DuckDB's parser; what the SELECT holds (the queries in its
    WITH clauses, the table functions it calls) from DuckDB's own serialization of its parse tree.
    Raises SqlRefused with the position of the problem when there is one.
    """
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise _parse_refusal(con, exc, sql) from None
    if not statements:
        raise SqlRefused("no SQL to run: the text holds no statement", None, sql)
    if len(statements) > 1:
        second = statements[1].query
        start = sql.find(second, len(statements[0].query) - 1)
        position = None if start < 0 else start + (_first_token(second) or 0)
        raise SqlRefused("one statement at a time: the SQL console runs a single SELECT", position, sql)
    statement = statements[0]
    text = statement.query
    base = _base(sql, text)
    try:
        kind = statement.type.name
    except ValueError:  # a statement type the Python client does not even name (UPDATE EXTENSIONS)
        kind = "OTHER"
    if kind != "SELECT":
        raise SqlRefused(_statement_message(kind), _shift(base, _first_token(text)), sql)
    tree = _serialized(con, text)
    if tree.get("error"):
        message = f"{str(tree.get('error_type', '')).capitalize()} Error: {tree.get('error_message', '')}"
        raise SqlRefused(message, _shift(base, _byte_position(text, tree.get("position"))), sql)
    _inspect(tree, text, base, sql)
    return text


def run(con: duckdb.DuckDBPyConnection, sql: str, *, limit: int = 10_000, timeout: float = 30.0,
        params: dict | None = None) -> Result:
    """Run SQL from the console on a connection `lock` restricted: at most `limit` rows (streamed, never
    the whole result), stopped after `timeout` seconds, in a transaction rolled back afterwards so that
    nothing it might change outlives it. Every refusal and every error is a SqlRefused."""
    if limit < 0:
        raise ValueError("limit must be 0 or more")
    if not timeout > 0:
        raise ValueError("timeout must be more than 0 seconds")
    locked = con.execute("select current_setting('enable_external_access') = false"
                         " and current_setting('lock_configuration')").fetchall()[0][0]
    if not locked:
        raise RuntimeError("sandbox.run needs a connection restricted by sandbox.lock")
    began = time.perf_counter()
    text = check(con, sql)
    base = _base(sql, text)
    stopped = threading.Event()

    def stop() -> None:
        stopped.set()
        con.interrupt()

    timer = threading.Timer(timeout, stop)
    timer.daemon = True
    reader = None
    failure: BaseException | None = None
    batches: list[pa.RecordBatch] = []
    rows = 0
    con.execute("begin transaction read only")
    try:
        timer.start()
        try:
            relation = con.sql(text, params=params or None)
            if relation is None:
                raise SqlRefused("the statement returned no rows", None, sql)
            columns = [(name, str(kind)) for name, kind in zip(relation.columns, relation.types, strict=True)]
            reader = relation.to_arrow_reader(min(limit + 1, BATCH_ROWS))
            while rows <= limit:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    break
                batches.append(batch)
                rows += batch.num_rows
            schema = reader.schema
        # pyarrow hands an error DuckDB meets while streaming on as an OSError with DuckDB's message.
        except (duckdb.Error, OSError) as exc:
            failure = exc
        finally:
            timer.cancel()
            timer.join()  # no interrupt may reach the connection once this returns
            if reader is not None:
                reader.close()
    finally:
        _rollback(con)
    if failure is not None:
        if stopped.is_set():
            raise SqlRefused(f"query stopped after {timeout:g} s (the limit)", None, sql)
        raise _refusal(failure, text, base, sql, con)
    table = pa.Table.from_batches(batches, schema=schema).slice(0, limit)
    return Result(columns, table, rows > limit, time.perf_counter() - began)


def position_of(error: BaseException | str, sql: str) -> dict | None:
    """Where in `sql` an error points, as `{"offset", "line", "column"}` (0-based character offset,
    1-based line and column), for the browser to mark; None when it points nowhere.

    Takes a SqlRefused, or a DuckDB error (or its message) from running `sql`: either DuckDB's JSON
    errors (`errors_as_json`, set by `lock`) with their byte position, or plain ones with the
    "LINE n:" excerpt and its caret.
    """
    offset = error.position if isinstance(error, SqlRefused) else _message_offset(str(error), sql)
    return None if offset is None else _locate(sql, offset)


def _verify(con: duckdb.DuckDBPyConnection) -> None:
    """The settings that matter most, read back: a DuckDB that ignored one must not serve the console."""
    wanted = {"enable_external_access": False, "lock_configuration": True, "python_enable_replacements": False,
              "autoinstall_known_extensions": False, "autoload_known_extensions": False}
    wrong = [name for name, value in wanted.items() if _setting(con, name) != value]
    if wrong:
        raise RuntimeError(f"DuckDB did not take the sandbox's settings: {', '.join(wrong)}")


def _setting(con: duckdb.DuckDBPyConnection, name: str) -> object:
    return con.execute("select current_setting(?)", [name]).fetchall()[0][0]


def _sql_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_sql_value(v) for v in value) + "]"
    return "'" + str(value).replace("'", "''") + "'"


def _statement_message(kind: str) -> str:
    if kind == "EXPLAIN":
        return "EXPLAIN is not available in the SQL console: run the query itself"
    if kind == "MULTI":
        return ("this statement runs several statements (as PIVOT does without a list of values); "
                "the SQL console runs a single SELECT: name the values, as in PIVOT ... ON column IN (a, b)")
    words = "this statement" if kind == "OTHER" else f"{kind.replace('_', ' ')} statements"
    return (f"the SQL console runs only SELECT queries, not {words}: it reads the lake's tables "
            f"({', '.join(TABLES)}) and changes nothing")


def _serialized(con: duckdb.DuckDBPyConnection, text: str) -> dict:
    """DuckDB's parse tree of a SELECT, as JSON."""
    try:
        answer = con.execute("select json_serialize_sql(?::varchar)", [text]).fetchall()[0][0]
        tree = json.loads(answer)
    except (duckdb.Error, ValueError) as exc:
        raise SqlRefused(f"the SQL console could not check this query: {_error_text(str(exc))[0]}") from None
    if not isinstance(tree, dict):
        raise SqlRefused("the SQL console could not check this query")
    return tree


def _inspect(tree: dict, text: str, base: int, sql: str) -> None:
    """Refuse what a SELECT's parse tree must not hold, in the order it appears."""
    stack: list[object] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(reversed(node))
            continue
        if not isinstance(node, dict):
            continue
        kind = node.get("type")
        if isinstance(kind, str) and kind.endswith("_NODE") and kind not in QUERY_NODES:
            what = kind.removesuffix("_NODE").removesuffix("_QUERY").replace("_", " ")
            raise SqlRefused(f"the SQL console only reads: a query cannot hold {what}",
                             _shift(base, _first_location(node, text)), sql)
        if kind == "TABLE_FUNCTION":
            function = node.get("function")
            name = function.get("function_name") if isinstance(function, dict) else None
            name = name.lower() if isinstance(name, str) else None
            if name not in TABLE_FUNCTIONS:
                raise SqlRefused(_function_message(name), _shift(base, _location(node, text)), sql)
        elif node.get("class") == "FUNCTION":
            name = str(node.get("function_name", "")).lower()
            if name in REFUSED_FUNCTIONS:
                raise SqlRefused(f"{name}() changes state: the SQL console only reads",
                                 _shift(base, _location(node, text)), sql)
        stack.extend(reversed(list(node.values())))


def _function_message(name: str | None) -> str:
    if name is None:
        return f"this table function is not available: {READS_ONLY}"
    if name in SQL_FUNCTIONS:
        return f"{name}() runs SQL given as a string: write the query itself"
    if name.startswith(("read_", "parquet_", "sniff_")) or name in ("glob", "from_csv_auto"):
        return f"{name}() reads files: {READS_ONLY}"
    return (f"the table function {name}() is not available: {READS_ONLY}, "
            "with range(), generate_series() and unnest() for made-up rows")


def _location(node: dict, text: str) -> int | None:
    return _byte_position(text, node.get("query_location"))


def _first_location(node: object, text: str) -> int | None:
    """The first position recorded anywhere in a part of the parse tree."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found = _location(item, text)
            if found is not None:
                return found
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return None


def _first_token(text: str) -> int | None:
    """Where the first token that is not a comment begins (DuckDB's tokenizer)."""
    try:
        tokens = duckdb.tokenize(text)
    except duckdb.Error:
        return None
    for position, kind in tokens:
        if kind != duckdb.token_type.comment:
            return _byte_position(text, position)
    return None


def _parse_refusal(con: duckdb.DuckDBPyConnection, exc: duckdb.Error, sql: str) -> SqlRefused:
    """A parse error, with the position from DuckDB's serializer, which reports it whatever the
    connection's error format."""
    try:
        answer = json.loads(con.execute("select json_serialize_sql(?::varchar)", [sql]).fetchall()[0][0])
    except (duckdb.Error, ValueError):
        answer = {}
    if isinstance(answer, dict) and answer.get("error") and answer.get("position") is not None:
        message = f"Parser Error: {answer.get('error_message', '')}"
        return SqlRefused(message, _byte_position(sql, answer.get("position")), sql)
    return _refusal(exc, sql, 0, sql)


def _refusal(exc: BaseException, text: str, base: int, sql: str,
             con: duckdb.DuckDBPyConnection | None = None) -> SqlRefused:
    """A DuckDB error as the user should read it, with its position in `sql` (where `text` starts at `base`).

    The relation API reports errors of binding without their position; with `con`, such an error is
    reproduced by binding `text` alone (PREPARE, which runs nothing) to learn it."""
    raw = str(exc)
    message, info = _error_text(raw)
    if info is not None:
        offset = _byte_position(text, info.get("position"))
        kind = str(info.get("exception_type", ""))
    else:
        offset = _caret_offset(raw, text)
        kind = message.split(" Error:", 1)[0] if " Error:" in message else ""
    if offset is None and con is not None and kind in ("Binder", "Catalog", "Permission", "Conversion", "Parser"):
        again = _bind_error(con, text)
        if again is not None and again[0] == message:
            offset = again[1]
    if isinstance(exc, duckdb.PermissionException) or kind == "Permission":
        message = f"{READS_ONLY}: {message}"
    elif isinstance(exc, duckdb.InterruptException) or kind.upper() == "INTERRUPT":
        message = "query interrupted"
    elif isinstance(exc, duckdb.OutOfMemoryException) or kind == "Out of Memory":
        message = f"{message} (the SQL console's memory limit: aggregate, or select fewer columns)"
    elif kind == "Catalog" and (info or {}).get("type", "Table") == "Table" and "does not exist" in message:
        message = f"{message}\n({READS_ONLY})"
    return SqlRefused(message, _shift(base, offset), sql)


def _bind_error(con: duckdb.DuckDBPyConnection, text: str) -> tuple[str, int | None] | None:
    """The error binding `text` raises, and its position: PREPARE binds a statement without running it."""
    prefix = "prepare flowlake_sandbox_bind as "
    statement = prefix + text
    try:
        statements = con.extract_statements(statement)
        if len(statements) != 1 or statements[0].type.name != "PREPARE":
            return None
        con.execute(statement)
    except duckdb.Error as exc:
        raw = str(exc)
        message, info = _error_text(raw)
        offset = _byte_position(statement, info.get("position")) if info else _caret_offset(raw, statement)
        return message, None if offset is None or offset < len(prefix) else offset - len(prefix)
    except ValueError:
        return None
    con.execute("deallocate flowlake_sandbox_bind")
    return None


def _error_text(raw: str) -> tuple[str, dict | None]:
    """A DuckDB error message without its excerpt of the query, and its JSON details when it has them."""
    info = _json_error(raw)
    if info is not None:
        return f"{info.get('exception_type', '')} Error: {info.get('exception_message', '')}", info
    return re.split(r"\n+LINE \d+: ", raw, maxsplit=1)[0].strip(), None


def _json_error(raw: str) -> dict | None:
    """The details of an error DuckDB wrote as JSON ("Binder Error: {...}")."""
    start = raw.find("{")
    if start < 0:
        return None
    try:
        info = json.loads(raw[start:])
    except ValueError:
        return None
    return info if isinstance(info, dict) and "exception_message" in info else None


def _message_offset(raw: str, sql: str) -> int | None:
    info = _json_error(raw)
    if info is not None:
        return _byte_position(sql, info.get("position"))
    return _caret_offset(raw, sql)


def _caret_offset(raw: str, sql: str) -> int | None:
    """The offset a plain DuckDB error's "LINE n:" excerpt and caret point at.

    DuckDB shows at most about 40 columns either side of the error, cut with "...", and counts both
    carriage returns and line feeds as line ends."""
    found = _CARET.search(raw)
    if found is None:
        return None
    number, shown = int(found[2]), found[3]
    width = len(found[4]) - len(found[1])
    starts = [0] + [i + 1 for i, c in enumerate(sql) if c in "\r\n"]
    if not 1 <= number <= len(starts):
        return None
    start = starts[number - 1]
    end = next((i for i in range(start, len(sql)) if sql[i] in "\r\n"), len(sql))
    line = sql[start:end]
    for cut_start in (False, True):
        for cut_end in (False, True):
            if (cut_start and not shown.startswith("...")) or (cut_end and not shown.endswith("...")):
                continue
            core = shown[3 if cut_start else 0:len(shown) - 3 if cut_end else len(shown)]
            if not cut_start:
                at = 0 if line.startswith(core) else -1
            elif not cut_end:
                at = len(line) - len(core) if line.endswith(core) else -1
            else:
                at = line.find(core)
            if at >= 0:
                return start + at + _chars_within(core, width - (3 if cut_start else 0))
    return None


def _chars_within(text: str, width: int) -> int:
    """How many characters of `text` fill `width` columns of a terminal (wide characters take two)."""
    used = 0
    for i, char in enumerate(text):
        if used >= width:
            return i
        if not unicodedata.combining(char):
            used += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return len(text)


def _byte_position(text: str, position: object) -> int | None:
    """DuckDB counts positions in UTF-8 bytes; Python and the browser count characters."""
    try:
        value = int(position)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    if value < 0 or value == _NO_LOCATION:
        return None
    return len(text.encode()[:value].decode(errors="ignore"))


def _base(sql: str, text: str) -> int:
    """Where the statement DuckDB split off starts in the text the user gave (0 for a single statement)."""
    return max(sql.find(text), 0)


def _shift(base: int, offset: int | None) -> int | None:
    return None if offset is None else base + offset


def _locate(sql: str, offset: int) -> dict:
    offset = max(0, min(offset, len(sql)))
    line_start = sql.rfind("\n", 0, offset) + 1
    return {"offset": offset, "line": sql.count("\n", 0, offset) + 1, "column": offset - line_start + 1}


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.TransactionException):  # DuckDB ended it already
        con.execute("rollback")
