-- name: top-destinations
-- title: Top destinations by bytes
-- description: Destination addresses that received the most bytes.
-- param: limit integer = 10
select dstaddr, sum(bytes) as bytes, sum(packets) as packets, count(*) as flows
from traffic
where dstaddr is not null
group by 1
order by bytes desc, 1
limit $limit
