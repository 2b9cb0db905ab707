-- name: internet-ingress
-- title: Internet ingress
-- description: Bytes from public addresses to private ones, by public source, with the share rejected.
-- param: limit integer = 10
select srcaddr, case when is_ipv6(srcaddr) then 'IPv6' else 'IPv4' end as type, sum(bytes) as bytes,
       sum(packets) as packets, count(*) as flows, count(*) filter (where action = 'REJECT') as rejected_flows
from traffic
where not is_private(srcaddr) and is_private(dstaddr)
group by srcaddr
order by bytes desc, srcaddr
limit $limit
