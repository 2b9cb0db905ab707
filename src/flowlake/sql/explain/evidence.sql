-- name: evidence
-- title: Matching flows per interface, leg and action
-- description: The request and response legs on each interface: flows, packets, bytes, first and last seen, BPA rejections and the port range of the other side.
-- param: src_lo text
-- param: src_hi text
-- param: dst_lo text
-- param: dst_hi text
-- param: v6 text
-- param: port integer
-- param: protocol integer
select interface_id, leg, flow_direction, action, count(*) as flows, sum(packets) as packets, sum(bytes) as bytes,
       min(start_time) as first_seen, max(end_time) as last_seen, count(distinct srcaddr) as sources,
       count(distinct dstaddr) as destinations, count(*) filter (where reject_reason = 'BPA') as bpa_flows,
       min(dstport) as min_dstport, max(dstport) as max_dstport
from explain_legs($src_lo, $src_hi, $dst_lo, $dst_hi, $v6::boolean, $port, $protocol)
group by all
order by interface_id nulls last, leg, action, flow_direction nulls last
