-- name: availability-zones
-- title: Traffic by Availability Zone
-- description: Bytes and flows per AZ ID (az-id, version 4 fields).
-- param: limit integer = 100
select region, az_id, sum(bytes) as bytes, sum(packets) as packets, count(*) as flows
from traffic
where az_id is not null
group by 1, 2
order by bytes desc, 1, 2
limit $limit
