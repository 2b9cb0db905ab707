-- name: ip-versions
-- title: IPv4 and IPv6 traffic
-- description: Total bytes of IPv4 and of IPv6 traffic. Athena console: VpcFlowLogsIPv4Traffic and VpcFlowLogsIPv6Traffic.
-- param: limit integer = 10
select case when is_ipv6(srcaddr) then 'IPv6' else 'IPv4' end as type, sum(bytes) as bytes,
       sum(packets) as packets, count(*) as flows
from traffic
where srcaddr is not null
group by 1
order by 1
limit $limit
