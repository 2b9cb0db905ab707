-- name: reach
-- title: How far the lake's flow logs reach
-- description: The lake's "complete up to" (the earliest of each flow log's last record) and its last record, over the range.
with per_log as (select max(end_time) as last from flows group by flow_log_id)
select min(last) as complete_up_to, max(last) as last_record from per_log
