-- name: sources
-- title: Requests per source and destination
-- description: For each address pair of the request leg, accepted and rejected flows (which sources a partial rejection hits), with each end's class, country and AS.
-- param: src_lo text
-- param: src_hi text
-- param: dst_lo text
-- param: dst_hi text
-- param: v6 text
-- param: port integer
-- param: protocol integer
-- param: limit integer = 20
select srcaddr, dstaddr, accepted, rejected, addr_class(srcaddr, src_service) as src_class,
       country(srcaddr) as src_country, as_name(srcaddr) as src_as_name, addr_class(dstaddr, dst_service) as dst_class,
       country(dstaddr) as dst_country, as_name(dstaddr) as dst_as_name
from (
select srcaddr, dstaddr, count(*) filter (where action = 'ACCEPT') as accepted,
       count(*) filter (where action = 'REJECT') as rejected, min(pkt_src_aws_service) as src_service,
       min(pkt_dst_aws_service) as dst_service
from explain_legs($src_lo, $src_hi, $dst_lo, $dst_hi, $v6::boolean, $port, $protocol)
where leg = 'request'
group by all
order by accepted + rejected desc, srcaddr, dstaddr
limit $limit
)
order by accepted + rejected desc, srcaddr, dstaddr
