-- The traffic between two address ranges, both ways (`flowlake explain`). Bounds are `ip_int` values as text;
-- `leg` is request (src to dst, dstport = port) or response (dst to src, srcport = port): the request's
-- destination port is the response's source port. A NULL port or protocol matches any. `src_text` and
-- `dst_text` are what every address of each side starts with as text ('10.1.' for 10.1.0.0/16, '' for
-- IPv6): a cheap test that spares the integer conversion of most rows. The legs are two queries, not one
-- with an OR, which would convert each address once per test; a record both ways counts as a request.
create or replace macro explain_legs(src_lo, src_hi, dst_lo, dst_hi, v6, port, proto, src_text, dst_text) as table
with t as (
    select interface_id, flow_direction, action, srcaddr, dstaddr, srcport, dstport, protocol, packets, bytes,
           start_time, end_time, reject_reason, pkt_src_aws_service, pkt_dst_aws_service
    from traffic
    where is_ipv6(srcaddr) = v6 and (proto is null or protocol = proto)
)
select *, 'request' as leg from t
where starts_with(srcaddr, src_text) and starts_with(dstaddr, dst_text) and (port is null or dstport = port)
  and ip_int(srcaddr) between src_lo::uhugeint and src_hi::uhugeint
  and ip_int(dstaddr) between dst_lo::uhugeint and dst_hi::uhugeint
union all
select *, 'response' as leg from t
where starts_with(srcaddr, dst_text) and starts_with(dstaddr, src_text) and (port is null or srcport = port)
  and ip_int(srcaddr) between dst_lo::uhugeint and dst_hi::uhugeint
  and ip_int(dstaddr) between src_lo::uhugeint and src_hi::uhugeint
  and not (ip_int(srcaddr) between src_lo::uhugeint and src_hi::uhugeint
           and ip_int(dstaddr) between dst_lo::uhugeint and dst_hi::uhugeint and (port is null or dstport = port));
