-- The traffic between two address ranges, both ways (`flowlake explain`). Bounds are `ip_int` values as text;
-- `leg` is request (src to dst, dstport = port) or response (dst to src, srcport = port): the request's
-- destination port is the response's source port. A NULL port or protocol matches any.
create or replace macro explain_legs(src_lo, src_hi, dst_lo, dst_hi, v6, port, proto) as table
select * exclude (s, d),
       if(s between src_lo::uhugeint and src_hi::uhugeint and d between dst_lo::uhugeint and dst_hi::uhugeint
          and (port is null or dstport = port), 'request', 'response') as leg
from (select *, ip_int(srcaddr) as s, ip_int(dstaddr) as d from traffic
      where is_ipv6(srcaddr) = v6 and (proto is null or protocol = proto))
where (s between src_lo::uhugeint and src_hi::uhugeint and d between dst_lo::uhugeint and dst_hi::uhugeint
       and (port is null or dstport = port))
   or (s between dst_lo::uhugeint and dst_hi::uhugeint and d between src_lo::uhugeint and src_hi::uhugeint
       and (port is null or srcport = port));
