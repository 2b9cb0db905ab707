-- name: top-ports
-- title: Top destination ports
-- description: Destination ports by bytes, with protocol and service names.
-- param: limit integer = 10
select dstport, protocol_name(protocol) as protocol, port_name(dstport) as service,
       sum(bytes) as bytes, sum(packets) as packets, count(*) as flows
from traffic
where dstport is not null
group by dstport, protocol
order by bytes desc, dstport, protocol
limit $limit
