-- Score distribution for the report: per attempt, score = correct / total questions (the
-- promoted `sequences.counts` columns), in 11 buckets: `score_from_pct` 0 is [0%, 10%),
-- 10 is [10%, 20%), …, 90 is [90%, 100%), and 100 is exactly 100% (a count of correct
-- answers above the total, an inconsistent event, also lands there).
-- Attempts without a total (null or 0) or without a count of correct answers are left out.

-- All exams.
select
    cast(least(floor(10.0 * correct / total) * 10, 100) as int) as score_from_pct,
    count(*)                                                    as attempts
from assessments
where total > 0 and correct is not null
group by 1
order by 1;

-- Per exam (the report draws the chosen exam's rows).
select
    exam_name,
    cast(least(floor(10.0 * correct / total) * 10, 100) as int) as score_from_pct,
    count(*)                                                    as attempts
from assessments
where total > 0 and correct is not null
group by 1, 2
order by 1, 2;
