-- name: top-vpcs
-- title: Top VPCs by bytes
-- description: VPCs whose interfaces carried the most bytes.
-- param: limit integer = 10
select vpc_id, sum(bytes) as bytes, sum(packets) as packets, count(*) as flows
from traffic
where vpc_id is not null
group by 1
order by bytes desc, 1
limit $limit
