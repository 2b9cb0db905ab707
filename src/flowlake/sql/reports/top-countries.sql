-- name: top-countries
-- title: Traffic by country of the public address
-- description: Flows, packets and bytes by the country of each flow's public end (the source when it is public, else the destination), from the GeoLite2 data the geoip2fast package ships; flows between private addresses and addresses the data does not place are left out.
-- param: limit integer = 10
with ends as (
    select if(is_private(srcaddr), dstaddr, srcaddr) as addr, count(*) as flows, sum(packets) as packets,
           sum(bytes) as bytes
    from traffic
    where not (is_private(srcaddr) and is_private(dstaddr))
    group by 1
)
select country(addr) as country, country_name(addr) as country_name, sum(flows)::bigint as flows,
       sum(packets)::bigint as packets, sum(bytes)::bigint as bytes, count(*) as addresses
from ends
where country(addr) is not null
group by 1, 2
order by bytes desc, country
limit $limit
