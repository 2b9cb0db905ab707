-- name: traffic-paths
-- title: Egress traffic by path
-- description: Where egress traffic went (traffic-path, version 5): same VPC, internet gateway, peering and so on.
-- param: limit integer = 10
select traffic_path,
       case traffic_path when 1 then 'same VPC' when 2 then 'internet or gateway endpoint' when 3 then 'virtual private gateway'
           when 4 then 'intra-region peering' when 5 then 'inter-region peering' when 6 then 'local gateway'
           when 7 then 'gateway endpoint (Nitro)' when 8 then 'internet gateway (Nitro)' end as path,
       sum(bytes) as bytes, sum(packets) as packets, count(*) as flows
from traffic
where traffic_path is not null
group by 1
order by bytes desc, 1
limit $limit
