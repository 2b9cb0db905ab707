-- name: sources
-- title: Requests per source and destination
-- description: For each address pair of the request leg, accepted and rejected flows: which sources a partial rejection hits.
-- param: src_lo text
-- param: src_hi text
-- param: dst_lo text
-- param: dst_hi text
-- param: v6 text
-- param: port integer
-- param: protocol integer
-- param: limit integer = 20
select srcaddr, dstaddr, count(*) filter (where action = 'ACCEPT') as accepted,
       count(*) filter (where action = 'REJECT') as rejected
from explain_legs($src_lo, $src_hi, $dst_lo, $dst_hi, $v6::boolean, $port, $protocol)
where leg = 'request'
group by all
order by accepted + rejected desc, srcaddr, dstaddr
limit $limit
