-- name: directions
-- title: Traffic by direction
-- description: Ingress and egress bytes relative to the capturing interface (flow-direction, version 5).
-- param: limit integer = 10
select flow_direction, sum(bytes) as bytes, sum(packets) as packets, count(*) as flows
from traffic
where flow_direction is not null
group by 1
order by bytes desc, 1
limit $limit
