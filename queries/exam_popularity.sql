-- Exam popularity: how many assessments per exam, the most and the least common exams.
--
-- Default dataset: 103 exams; the most common is "Learning Git" (394 assessments), four
-- exams have a single assessment.

-- Every exam, most popular first (ties by name).
select exam_name, count(*) as assessments
from assessments
group by exam_name
order by assessments desc, exam_name;

-- The most common exam(s): all exams tied for the highest count.
with per_exam as (
    select exam_name, count(*) as assessments from assessments group by exam_name
)
select exam_name, assessments
from per_exam
where assessments = (select max(assessments) from per_exam)
order by exam_name;

-- The least common exam(s): all exams tied for the lowest count.
with per_exam as (
    select exam_name, count(*) as assessments from assessments group by exam_name
)
select exam_name, assessments
from per_exam
where assessments = (select min(assessments) from per_exam)
order by exam_name;
