-- name: top-pairs
-- title: Top source/destination pairs by bytes
-- description: Address pairs that exchanged the most bytes, one direction per row. Athena console: VpcFlowLogsTotalBytesTransferred.
-- param: limit integer = 10
select srcaddr, dstaddr, sum(bytes) as bytes, sum(packets) as packets, count(*) as flows
from traffic
where srcaddr is not null and dstaddr is not null
group by 1, 2
order by bytes desc, 1, 2
limit $limit
