-- Exam popularity for the report: the 20 exams with the most attempts, then the long tail
-- after them summarized. Ties are broken by name, so the top 20 is the same on every run.
-- Default dataset: "Learning Git" first with 394 attempts; 83 exams in the tail.

-- The top 20, most attempts first; `share_pct` is the share of all attempts.
with ranked as (
    select
        exam_name,
        count(*)                                                  as attempts,
        row_number() over (order by count(*) desc, exam_name)     as exam_rank,
        sum(count(*)) over ()                                     as all_attempts
    from assessments
    group by exam_name
)
select exam_rank, exam_name, attempts, round(100.0 * attempts / all_attempts, 1) as share_pct
from ranked
where exam_rank <= 20
order by exam_rank;

-- The long tail: the exams ranked after the 20th, as one row (exams = 0 when there are
-- 20 exams or fewer).
with ranked as (
    select
        exam_name,
        count(*)                                              as attempts,
        row_number() over (order by count(*) desc, exam_name) as exam_rank
    from assessments
    group by exam_name
)
select
    count(*)                  as exams,
    coalesce(sum(attempts), 0) as attempts,
    min(attempts)             as min_attempts,
    max(attempts)             as max_attempts
from ranked
where exam_rank > 20;
