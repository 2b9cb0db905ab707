-- name: coverage
-- title: How far the data reaches
-- description: Per flow log: first and last record, interfaces, and gaps; the first row, flow log '(all)', says up to when every flow log is complete.
-- One row per flow log, whatever account-id its records carry (interfaces of AWS services log 'unknown'):
-- its account is the lowest one named, 'unknown' only when no other is. Records from objects whose name
-- gives no flow-log id are grouped by account and region instead.
with per_log as (
    select coalesce(flow_log_id, '-') as flow_log_id, min(account_id) as account_id, min(region) as region,
           min(start_time) as first_record, max(end_time) as last_record, count(distinct interface_id) as interfaces,
           count(*) filter (where log_status = 'SKIPDATA') as skipdata
    from flows
    group by flow_log_id, if(flow_log_id is null, account_id, null), if(flow_log_id is null, region, null)
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
