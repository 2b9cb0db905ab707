-- name: rejected-sources
-- title: Rejected traffic by source
-- description: Source addresses with the most rejected flows (security groups, network ACLs, or packets after a connection closed). CloudWatch Logs Insights' top-20 rejected sources.
-- param: limit integer = 10
select srcaddr, count(*) as flows, sum(packets) as packets, sum(bytes) as bytes,
       count(distinct dstaddr) as destinations, count(distinct dstport) as ports
from traffic
where action = 'REJECT'
group by srcaddr
order by flows desc, srcaddr
limit $limit
