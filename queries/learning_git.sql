-- How many took "Learning Git"?
--
-- `assessments` counts attempts (one event each); `user_exams` counts distinct user exam
-- ids, which group a user's attempts at one exam.
-- Default dataset: 394 assessments.
select
    count(*)                     as assessments,
    count(distinct user_exam_id) as user_exams
from assessments
where exam_name = 'Learning Git';
