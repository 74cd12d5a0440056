-- Data health for the report: why messages were rejected, how many events landed per day,
-- and how fresh each Kafka partition's landed data is.

-- Rejects by error kind (no rows on clean data).
select error_kind, count(*) as rejects
from rejects
group by error_kind
order by rejects desc, error_kind;

-- Events landed per day of event time (the UTC date of `keen_timestamp`): a day with fewer
-- events than its neighbours may not have landed yet.
select cast(keen_timestamp as date) as day, count(*) as events
from assessments
where keen_timestamp is not null
group by 1
order by 1;

-- Freshness per partition: the newest landed event time of each (topic, partition) and how
-- far it is behind the newest of all, in minutes. A partition far behind the others is not
-- keeping up (or has stopped receiving events).
select
    cast(_topic as varchar)                                      as topic,
    _partition                                                   as kafka_partition,
    count(*)                                                     as events,
    max(_offset)                                                 as last_offset,
    max(keen_timestamp)                                          as newest_event,
    round((cast(max(max(keen_timestamp)) over () as bigint)
           - cast(max(keen_timestamp) as bigint)) / 60e6, 1)     as behind_newest_minutes
from assessments
group by _topic, _partition
order by topic, kafka_partition;
