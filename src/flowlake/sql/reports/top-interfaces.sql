-- name: top-interfaces
-- title: Top interfaces by bytes
-- description: Network interfaces that carried the most bytes.
-- param: limit integer = 10
select interface_id, sum(bytes) as bytes, sum(packets) as packets, count(*) as flows
from traffic
where interface_id is not null
group by 1
order by bytes desc, 1
limit $limit
