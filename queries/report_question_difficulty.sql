-- Question difficulty per exam for the report: for each question of an exam (`question_id`;
-- the exam name comes from `assessments`, joined on `keen_id`), the number of attempts that
-- had it and the share of them whose `user_result` is 'correct'. Hardest first within an
-- exam (ties: more attempts first, then by id).
select
    a.exam_name,
    q.question_id,
    count(*)                                                                as attempts,
    sum(case when q.user_result = 'correct' then 1 else 0 end)              as correct,
    round(100.0 * avg(case when q.user_result = 'correct' then 1.0 else 0.0 end), 1) as correct_pct
from questions q
join assessments a on a.keen_id = q.keen_id
group by a.exam_name, q.question_id
order by a.exam_name, correct_pct, attempts desc, q.question_id;
