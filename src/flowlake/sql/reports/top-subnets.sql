-- name: top-subnets
-- title: Top subnets by bytes
-- description: Subnets whose interfaces carried the most bytes. Athena console: VpcFlowLogsTopTalkingSubnets.
-- param: limit integer = 10
select subnet_id, sum(bytes) as bytes, sum(packets) as packets, count(*) as flows
from traffic
where subnet_id is not null
group by 1
order by bytes desc, 1
limit $limit
