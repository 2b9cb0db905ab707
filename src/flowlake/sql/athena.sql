-- Trino functions DuckDB lacks and sqlglot passes through by name, for Athena SQL run on DuckDB.
-- `to_iso8601` (AWS's samples format `from_unixtime(start)` with it): its text depends on the argument's
-- type, which only DuckDB knows, at bind time. Trino writes a date as `2020-05-04`, and a timestamp with
-- the millisecond precision of `from_unixtime` and Athena's timestamps, plus the zone's offset: Athena's
-- session zone is UTC, as flowlake's is, so `Z`.
create or replace temp macro to_iso8601(x) as
    case typeof(x)
        when 'DATE' then strftime(x, '%Y-%m-%d')
        when 'TIMESTAMP WITH TIME ZONE' then strftime(x, '%Y-%m-%dT%H:%M:%S.%g') || 'Z'
        else strftime(x, '%Y-%m-%dT%H:%M:%S.%g')
    end;
