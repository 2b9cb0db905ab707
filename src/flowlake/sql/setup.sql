-- Macros and reference tables every connection has; reports and users' SQL may use them.
create or replace macro is_private(a) as
    regexp_matches(a, '^(10\.|192\.168\.|172\.(1[6-9]|2[0-9]|3[01])\.|100\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\.|127\.|169\.254\.)')
    or regexp_matches(lower(a), '^(f[cd][0-9a-f]{2}:|fe[89ab][0-9a-f]:|::1$)');
create or replace macro is_ipv6(a) as contains(a, ':');
create or replace macro protocol_name(p) as
    coalesce((select name from protocols where number = p), cast(p as varchar));
create or replace macro port_name(p) as (select name from ports where port = p);
create or replace macro ipv4_number(a) as
    try_cast(split_part(a, '.', 1) as bigint) * 16777216 + try_cast(split_part(a, '.', 2) as bigint) * 65536
    + try_cast(split_part(a, '.', 3) as bigint) * 256 + try_cast(split_part(a, '.', 4) as bigint);
create or replace macro port_span(lo, hi) as
    case when lo = hi then cast(lo as varchar) else cast(lo as varchar) || '-' || cast(hi as varchar) end;
