-- Builds the enrichment cache (flowlake.enrich) from `networks(first, netlen, id)` and `names(id, name)`, the
-- ranges and names of the geoip2fast package's data. Each range gets `bucket` (ip_bucket of an address in it),
-- repeated for every bucket it spans, so a lookup is an equality join on the bucket and a range test.
create or replace macro range_buckets(first, last) as
    list_transform(range((first >> if(first <= 4294967295, 16, 96)::uhugeint)::bigint,
                         (last >> if(first <= 4294967295, 16, 96)::uhugeint)::bigint + 1),
                   lambda b: b + if(first <= 4294967295, 0, 1::bigint << 32));
create or replace macro range_last(first, netlen) as
    first + (1::uhugeint << (if(first <= 4294967295, 32, 128) - netlen)::uhugeint) - 1;
