-- Time to complete for the report: minutes from `started_at` (the attempt started) to
-- `keen_timestamp` (it was submitted), per attempt. Timestamps are UTC microseconds; cast to
-- bigint they are microseconds since the epoch. Attempts with a missing or inverted
-- timestamp are left out.

-- 1-minute bins clipped at one hour: `from_minute` m counts attempts of [m, m + 1) minutes;
-- 60 counts every attempt of 60 minutes or more.
with durations as (
    select (cast(keen_timestamp as bigint) - cast(started_at as bigint)) / 60e6 as minutes
    from assessments
    where started_at is not null
      and keen_timestamp is not null
      and keen_timestamp >= started_at
)
select cast(least(floor(minutes), 60) as int) as from_minute, count(*) as attempts
from durations
group by 1
order by 1;

-- Summary over all attempts: median, 90th percentile (approximate) and longest, and how many
-- took an hour or more (the clipped bin).
with durations as (
    select (cast(keen_timestamp as bigint) - cast(started_at as bigint)) / 60e6 as minutes
    from assessments
    where started_at is not null
      and keen_timestamp is not null
      and keen_timestamp >= started_at
)
select
    count(*)                                             as attempts,
    round(median(minutes), 1)                            as median_minutes,
    round(approx_percentile_cont(minutes, 0.9), 1)       as p90_minutes,
    round(max(minutes), 1)                               as max_minutes,
    sum(case when minutes >= 60 then 1 else 0 end)       as hour_or_more
from durations;
