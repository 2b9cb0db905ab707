-- name: top-asns
-- title: Traffic by autonomous system of the public address
-- description: Flows, packets and bytes by the autonomous system (its name; the data has no AS numbers) of each flow's public end (the source when it is public, else the destination), from the GeoLite2 data the geoip2fast package ships; flows between private addresses and addresses in no known AS are left out.
-- param: limit integer = 10
-- The remote end of traffic that is not private on both sides: the source when it is public, else the
-- destination; as two plain totals, so the sources and destinations rollups answer them.
with ends as (
    select addr, sum(flows) as flows, sum(packets) as packets, sum(bytes) as bytes
    from (
        select srcaddr as addr, count(*) as flows, sum(packets) as packets, sum(bytes) as bytes
        from traffic
        where not is_private(srcaddr)
        group by 1
        union all
        select dstaddr as addr, count(*) as flows, sum(packets) as packets, sum(bytes) as bytes
        from traffic
        where is_private(srcaddr) and not is_private(dstaddr)
        group by 1
    ) remote
    group by 1
)
-- Each address looked up once (a lookup is a join on the ranges).
, placed as (select as_name(addr) as as_name, country(addr) as country, flows, packets, bytes from ends)
select as_name, sum(flows)::bigint as flows, sum(packets)::bigint as packets, sum(bytes)::bigint as bytes,
       count(*) as addresses, count(distinct country) as countries
from placed
where as_name is not null
group by 1
order by bytes desc, as_name
limit $limit
