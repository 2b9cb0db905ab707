-- name: web-clients
-- title: Web clients and their network traffic
-- description: Per client address in web_logs: requests, distinct paths, 2xx/3xx/4xx/5xx, first and last request, and over the same time range its flows and bytes (as source or destination, packet-level addresses included) and the rejected flows it sent.
-- param: limit integer = 20
with web as (
    select client,
           count(*) as requests,
           count(distinct path) as paths,
           count(*) filter (where status between 200 and 299) as status_2xx,
           count(*) filter (where status between 300 and 399) as status_3xx,
           count(*) filter (where status between 400 and 499) as status_4xx,
           count(*) filter (where status between 500 and 599) as status_5xx,
           min(time) as first_request,
           max(time) as last_request
    from web_logs
    group by client
),
-- Each flow once per address it names, whichever of the four columns names it.
touching as (
    select unnest(list_distinct([srcaddr, dstaddr, pkt_srcaddr, pkt_dstaddr])) as client,
           srcaddr, pkt_srcaddr, action, bytes
    from traffic
),
net as (
    select client,
           count(*) as flows,
           sum(bytes) as flow_bytes,
           count(*) filter (where action = 'REJECT' and client in (srcaddr, pkt_srcaddr)) as rejected_from
    from touching
    where client in (select client from web)
    group by client
)
select web.*, coalesce(net.flows, 0) as flows, coalesce(net.flow_bytes, 0) as flow_bytes,
       coalesce(net.rejected_from, 0) as rejected_from
from web left join net using (client)
order by requests desc, client
limit $limit
