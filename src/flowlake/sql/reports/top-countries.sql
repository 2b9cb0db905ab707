-- name: top-countries
-- title: Traffic by country of the public address
-- description: Flows, packets and bytes by the country of each flow's public end (the source when it is public, else the destination), from the GeoLite2 data the geoip2fast package ships; flows between private addresses and addresses the data does not place are left out.
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
, placed as (select country(addr) as country, country_name(addr) as country_name, flows, packets, bytes from ends)
select country, country_name, sum(flows)::bigint as flows, sum(packets)::bigint as packets,
       sum(bytes)::bigint as bytes, count(*) as addresses
from placed
where country is not null
group by 1, 2
order by bytes desc, country
limit $limit
