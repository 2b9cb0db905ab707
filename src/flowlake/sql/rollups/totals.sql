-- name: totals
-- title: Totals per five minutes
-- description: Bytes, packets and records per five-minute bucket of `start` (`t`, Unix seconds) and the low-cardinality columns: the dashboard's totals, time series, protocol mix, accounts and capture health.
select "start" - "start" % 300 as t, action, protocol, flow_direction, account_id, region, log_status,
       cast(sum(bytes) as bigint) as bytes, cast(sum(packets) as bigint) as packets, count(*) as flows
from rollup_input
where "start" is not null
group by all
order by all
