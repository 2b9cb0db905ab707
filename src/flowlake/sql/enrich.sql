-- Address enrichment macros (flowlake.enrich): every connection has them, any SQL may call them.
-- `geo.country_ranges` and `geo.as_ranges` come from the offline GeoLite2 data of the geoip2fast package;
-- `aws_ranges` from an AWS ip-ranges.json when the lake has one (LAKE/_flowlake/ip-ranges.json).
create or replace macro ip_bucket(a) as
    if(contains(a, ':'), (ip_int(a) >> 96)::bigint + (1::bigint << 32), (ip_int(a) >> 16)::bigint);
-- A lookup turns the address into its number and bucket once, then joins the ranges of that bucket (three
-- times faster than testing `ip_int(a)` against every candidate range).
create or replace macro ip_key(a) as table select ip_int(a) as n, ip_bucket(a) as b;
create or replace macro country(a) as
    (select min(country) from ip_key(a) k join geo.country_ranges r on r.bucket = k.b and k.n between r.first and r.last);
create or replace macro country_name(a) as
    (select min(country_name) from ip_key(a) k
     join geo.country_ranges r on r.bucket = k.b and k.n between r.first and r.last);
create or replace macro as_name(a) as
    (select min(as_name) from ip_key(a) k join geo.as_ranges r on r.bucket = k.b and k.n between r.first and r.last);
create or replace macro aws_service(a) as
    (select arg_min(service, (service = 'AMAZON', last - first)) from ip_key(a) k
     join aws_ranges r on r.bucket = k.b and k.n between r.first and r.last);
create or replace macro addr_class(a, service := null) as
    case when ip_int(a) is null then null when is_private(a) then 'private'
         when service is not null or aws_service(a) is not null then 'aws-service' else 'public' end;
