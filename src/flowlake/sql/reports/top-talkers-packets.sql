-- name: top-talkers-packets
-- title: Top talkers by packets
-- description: Source addresses that sent the most packets.
-- param: limit integer = 10
select srcaddr, sum(bytes) as bytes, sum(packets) as packets, count(*) as flows
from traffic
where srcaddr is not null
group by 1
order by packets desc, 1
limit $limit
