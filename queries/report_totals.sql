-- Report totals: what the warehouse holds, and the time range of its events.
--
-- `attempts` are rows of `assessments` (one valid assessment-attempt event each);
-- `user_exams` are distinct user exam ids (one user's attempts at one exam); `questions`
-- and `options` are rows of those tables (one per question, one per option, of an attempt);
-- `rejects` are messages that were not valid events. The range is that of `keen_timestamp`
-- (when an attempt was submitted), UTC.
-- Default dataset: 3280 attempts of 103 exams.
select *
from (
    select
        count(*)                     as attempts,
        count(distinct user_exam_id) as user_exams,
        count(distinct exam_name)    as exams,
        min(keen_timestamp)          as first_event,
        max(keen_timestamp)          as last_event
    from assessments
) a
cross join (select count(*) as questions from questions) q
cross join (select count(*) as options from options) o
cross join (select count(*) as rejects from rejects) r;
