"""The engines that run flowlake's SQL: DuckDB (duckdb.py) and Spark (spark.py), one SQL text (dialects.py)."""


class EngineSQLError(ValueError):
    """SQL that an engine other than DuckDB (or the translation for it) refused: the command's one-line error."""
