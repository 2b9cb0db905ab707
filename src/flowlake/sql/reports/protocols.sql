-- name: protocols
-- title: Protocol mix
-- description: Bytes, packets and flows by IP protocol, with names (6 is TCP).
-- param: limit integer = 10
select protocol, protocol_name(protocol) as name, sum(bytes) as bytes, sum(packets) as packets, count(*) as flows
from traffic
where protocol is not null
group by protocol
order by bytes desc, protocol
limit $limit
