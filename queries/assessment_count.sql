-- How many assessments are in the dataset?
--
-- One row of `assessments` is one valid assessment-attempt event (its `keen_id` is the
-- event id). Messages that were not valid events are in `rejects`, and `raw` has every
-- message: raw = assessments + rejects.
-- Default dataset: 3280 assessments.
select
    count(*)                     as assessments,
    count(distinct keen_id)      as distinct_events,
    count(distinct user_exam_id) as distinct_user_exams,
    count(distinct exam_name)    as exams
from assessments;
