-- name: silent-interfaces
-- title: Interfaces that went silent
-- description: Interfaces with no record for longer than `silence` before the lake's latest record, newest silence first.
-- param: silence interval = 1 hour
-- param: limit integer = 100
-- The same answer on every engine: the account is the lowest one named ('unknown' only when no other is), as in
-- coverage, and hours are rounded in tenths from whole seconds (8.45 as a double is just under 8.45).
with last as (select max(end_time) as latest from flows),
seen as (
    select interface_id, min(account_id) as account_id, min(region) as region, max(end_time) as last_seen
    from flows
    where interface_id is not null
    group by interface_id
)
select interface_id, account_id, region, last_seen, round((epoch(latest) - epoch(last_seen)) / 360) / 10 as silent_hours
from seen cross join last
where last_seen < latest - cast($silence as interval)
order by last_seen desc, interface_id
limit $limit
