-- name: interfaces
-- title: Interfaces and how far they reach
-- description: Per flow log, interface, account, region and log status (NODATA and SKIPDATA included): the first record's start, the last one's end, bytes, packets and records. Active interfaces, coverage, "complete up to" and silent interfaces.
select flow_log_id, interface_id, account_id, region, log_status,
       min(start_time) as first_start, max(end_time) as last_end,
       cast(sum(bytes) as bigint) as bytes, cast(sum(packets) as bigint) as packets, count(*) as flows
from rollup_input
group by all
order by all
