-- name: interfaces
-- title: Interfaces and how far they reach
-- description: Per flow log and interface, the last record's end: active interfaces, "complete up to" and silent interfaces.
select flow_log_id, interface_id, max(end_time) as last_end
from rollup_input
group by all
order by all
