-- name: coverage
-- title: How far the data reaches
-- description: Per flow log: first and last record, interfaces, and gaps; the first row, flow log '(all)', says up to when every flow log is complete.
with per_log as (
    select coalesce(flow_log_id, '-') as flow_log_id, account_id, region, min(start_time) as first_record,
           max(end_time) as last_record, count(distinct interface_id) as interfaces,
           count(*) filter (where log_status = 'SKIPDATA') as skipdata
    from flows
    group by 1, 2, 3
)
select flow_log_id, account_id, region, first_record, last_record, interfaces, skipdata
from (
    select '(all)' as flow_log_id, null as account_id, null as region, min(first_record) as first_record,
           min(last_record) as last_record, sum(interfaces) as interfaces, sum(skipdata) as skipdata, 0 as sort
    from per_log
    union all
    select *, 1 as sort from per_log
)
order by sort, last_record, flow_log_id
