-- name: capture-health
-- title: Capture health
-- description: NODATA (no traffic) and SKIPDATA (records lost) by interface (or Transit Gateway attachment) and hour: the gaps in what flow logs saw.
-- param: limit integer = 100
-- Transit Gateway records have no interface: they are told apart by attachment.
select interface_id, tgw_attachment_id, time_bucket(interval '1 hour', start_time) as hour,
       count(*) filter (where log_status = 'NODATA') as nodata,
       count(*) filter (where log_status = 'SKIPDATA') as skipdata,
       count(*) filter (where coalesce(log_status, 'OK') = 'OK') as records
from flows
where start_time is not null
group by 1, 2, 3
having nodata + skipdata > 0
order by skipdata desc, nodata desc, hour desc, interface_id, tgw_attachment_id
limit $limit
