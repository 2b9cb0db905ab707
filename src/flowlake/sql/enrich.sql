-- Address enrichment macros (flowlake.enrich): every connection has them, any SQL may call them.
-- `geo.country_ranges` and `geo.as_ranges` come from the offline GeoLite2 data of the geoip2fast package;
-- `aws_ranges` from an AWS ip-ranges.json when the lake has one (LAKE/_flowlake/ip-ranges.json).
create or replace macro ip_bucket(a) as
    if(contains(a, ':'), (ip_int(a) >> 96)::bigint + (1::bigint << 32), (ip_int(a) >> 16)::bigint);
create or replace macro country(a) as
    (select min(country) from geo.country_ranges where bucket = ip_bucket(a) and ip_int(a) between first and last);
create or replace macro country_name(a) as
    (select min(country_name) from geo.country_ranges
     where bucket = ip_bucket(a) and ip_int(a) between first and last);
create or replace macro as_name(a) as
    (select min(as_name) from geo.as_ranges where bucket = ip_bucket(a) and ip_int(a) between first and last);
create or replace macro aws_service(a) as
    (select arg_min(service, (service = 'AMAZON', last - first)) from aws_ranges
     where bucket = ip_bucket(a) and ip_int(a) between first and last);
create or replace macro addr_class(a, service := null) as
    case when ip_int(a) is null then null when is_private(a) then 'private'
         when service is not null or aws_service(a) is not null then 'aws-service' else 'public' end;
