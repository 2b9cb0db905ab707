-- name: captures
-- title: Records per interface and five minutes
-- description: Bytes, packets and records per five-minute bucket of `start` (`t`, Unix seconds), interface (or Transit Gateway attachment), account, region and log status, NODATA and SKIPDATA included: capture health, top interfaces, accounts and regions.
select "start" - "start" % 300 as t, interface_id, tgw_attachment_id, account_id, region, log_status,
       cast(sum(bytes) as bigint) as bytes, cast(sum(packets) as bigint) as packets, count(*) as flows
from rollup_input
where "start" is not null
group by all
order by all
