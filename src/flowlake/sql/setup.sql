-- Macros and reference tables every connection has; reports and users' SQL may use them.
-- One regex for both families, hex digits in either case (no lower(): a quarter faster over millions of rows).
create or replace macro is_private(a) as
    regexp_matches(a, '^(10\.|192\.168\.|172\.(1[6-9]|2[0-9]|3[01])\.|100\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\.|127\.|169\.254\.|[fF][cdCD][0-9a-fA-F]{2}:|[fF][eE][89abAB][0-9a-fA-F]:|::1$)');
create or replace macro is_ipv6(a) as contains(a, ':');
create or replace macro protocol_name(p) as
    coalesce((select name from protocols where number = p), cast(p as varchar));
create or replace macro port_name(p) as (select name from ports where port = p);
-- Destination ports of remote administration (SSH, Telnet, RDP, VNC, WinRM, Docker, Kubernetes API, web
-- consoles): the admin-ports report and the rollup that answers it (sql/rollups/admin.sql) both name it.
create or replace macro admin_port(p) as
    p in (22, 23, 3389, 5900, 5985, 5986, 2375, 6443, 8080, 8443, 8888, 9000, 9090, 10000);
create or replace macro port_span(lo, hi) as
    case when lo = hi then cast(lo as varchar) else cast(lo as varchar) || '-' || cast(hi as varchar) end;
-- An address as an unsigned 128-bit integer (IPv4 in 0 .. 2^32-1), for CIDR and range tests; NULL if not parseable.
create or replace macro ip4_int(a) as
    try_cast(split_part(a, '.', 1) as uhugeint) * 16777216 + try_cast(split_part(a, '.', 2) as uhugeint) * 65536
    + try_cast(split_part(a, '.', 3) as uhugeint) * 256 + try_cast(split_part(a, '.', 4) as uhugeint);
create or replace macro ip6_groups(a) as
    list_filter(string_split(a, ':'), lambda g: g <> '');
create or replace macro ip6_int(a) as try_cast('0x' || array_to_string(list_transform(
    case when contains(a, '::') then list_concat(ip6_groups(split_part(a, '::', 1)),
        list_transform(range(8 - len(ip6_groups(a))), lambda x: '0'), ip6_groups(split_part(a, '::', 2)))
    else string_split(a, ':') end, lambda g: lpad(g, 4, '0')), '') as uhugeint);
create or replace macro ip_int(a) as if(contains(a, ':'), ip6_int(lower(a)), ip4_int(a));
