-- name: top-asns
-- title: Traffic by autonomous system of the public address
-- description: Flows, packets and bytes by the autonomous system (its name; the data has no AS numbers) of each flow's public end (the source when it is public, else the destination), from the GeoLite2 data the geoip2fast package ships; flows between private addresses and addresses in no known AS are left out.
-- param: limit integer = 10
with ends as (
    select if(is_private(srcaddr), dstaddr, srcaddr) as addr, count(*) as flows, sum(packets) as packets,
           sum(bytes) as bytes
    from traffic
    where not (is_private(srcaddr) and is_private(dstaddr))
    group by 1
)
select as_name(addr) as as_name, sum(flows)::bigint as flows, sum(packets)::bigint as packets,
       sum(bytes)::bigint as bytes, count(*) as addresses, count(distinct country(addr)) as countries
from ends
where as_name(addr) is not null
group by 1
order by bytes desc, as_name
limit $limit
