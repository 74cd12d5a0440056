-- Time to complete an attempt: from `started_at` (the attempt started) to `keen_timestamp`
-- (the event was emitted when the attempt was submitted), in minutes.
--
-- Timestamps are UTC microseconds; casting one to bigint gives microseconds since the
-- epoch. Attempts with a missing or inverted timestamp are left out.
with durations as (
    select
        exam_name,
        (cast(keen_timestamp as bigint) - cast(started_at as bigint)) / 60e6 as minutes
    from assessments
    where started_at is not null
      and keen_timestamp is not null
      and keen_timestamp >= started_at
)
select
    exam_name,
    count(*)                                        as attempts,
    round(min(minutes), 1)                          as min_minutes,
    round(median(minutes), 1)                       as median_minutes,
    round(avg(minutes), 1)                          as mean_minutes,
    round(approx_percentile_cont(minutes, 0.9), 1)  as p90_minutes,
    round(max(minutes), 1)                          as max_minutes
from durations
group by exam_name
having count(*) >= 10
order by median_minutes desc, exam_name;

-- Over all attempts: how many took under 5, 5-15, 15-30, 30-60 and over 60 minutes.
select
    case
        when minutes < 5 then '1: < 5 min'
        when minutes < 15 then '2: 5-15 min'
        when minutes < 30 then '3: 15-30 min'
        when minutes < 60 then '4: 30-60 min'
        else '5: >= 60 min'
    end      as duration,
    count(*) as attempts
from (
    select (cast(keen_timestamp as bigint) - cast(started_at as bigint)) / 60e6 as minutes
    from assessments
    where started_at is not null and keen_timestamp is not null
      and keen_timestamp >= started_at
) d
group by 1
order by 1;
