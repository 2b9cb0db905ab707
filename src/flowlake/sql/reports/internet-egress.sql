-- name: internet-egress
-- title: Internet egress
-- description: Bytes from private addresses to public ones, by public destination (IPv4 and IPv6).
-- param: limit integer = 10
select dstaddr, case when is_ipv6(dstaddr) then 'IPv6' else 'IPv4' end as type, sum(bytes) as bytes,
       sum(packets) as packets, count(*) as flows, count(distinct srcaddr) as sources
from traffic
where is_private(srcaddr) and not is_private(dstaddr)
group by dstaddr
order by bytes desc, dstaddr
limit $limit
