-- name: top-instances
-- title: Top instances by bytes
-- description: Instances whose interfaces carried the most bytes. Athena console: VpcFlowLogsTopTalkingInstances.
-- param: limit integer = 10
select instance_id, sum(bytes) as bytes, sum(packets) as packets, count(*) as flows
from traffic
where instance_id is not null
group by 1
order by bytes desc, 1
limit $limit
