-- name: top-talkers
-- title: Top talkers by bytes
-- description: Source addresses that sent the most bytes.
-- param: limit integer = 10
select srcaddr, sum(bytes) as bytes, sum(packets) as packets, count(*) as flows
from traffic
where srcaddr is not null
group by 1
order by bytes desc, 1
limit $limit
