-- name: rejected-ports
-- title: Rejected traffic by destination port
-- description: Destination ports with the most rejected flows.
-- param: limit integer = 10
select dstport, protocol_name(protocol) as protocol, port_name(dstport) as service, count(*) as flows,
       sum(packets) as packets, count(distinct srcaddr) as sources
from traffic
where action = 'REJECT'
group by dstport, protocol
order by flows desc, dstport, protocol
limit $limit
