-- name: accounts-regions
-- title: Traffic by account and region
-- description: Bytes, packets, flows and interfaces per account and region.
-- param: limit integer = 100
select account_id, region, sum(bytes) as bytes, sum(packets) as packets, count(*) as flows,
       count(distinct interface_id) as interfaces
from traffic
group by 1, 2
order by bytes desc nulls last, 1, 2
limit $limit
