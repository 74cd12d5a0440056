-- Per-question difficulty: the share of attempts that answered each question correctly.
--
-- `questions` has one row per question of each attempt (`user_correct` is the question's
-- result, null when the event did not say). Questions are identified by `question_id`
-- within an exam; the exam name comes from `assessments` (joined on `keen_id`).
-- Questions seen fewer than 5 times are left out: their share says little.
select
    a.exam_name,
    q.question_id,
    count(*)                                              as attempts,
    sum(case when q.user_correct then 1 else 0 end)       as correct,
    round(avg(case when q.user_correct then 1.0 else 0.0 end), 3) as share_correct
from questions q
join assessments a on a.keen_id = q.keen_id
group by a.exam_name, q.question_id
having count(*) >= 5
order by share_correct, attempts desc, a.exam_name, q.question_id
limit 25;

-- Per exam: the average share of correct answers over its questions, hardest first.
select
    a.exam_name,
    count(distinct q.question_id)                                  as questions,
    count(*)                                                       as answers,
    round(avg(case when q.user_correct then 1.0 else 0.0 end), 3)  as share_correct
from questions q
join assessments a on a.keen_id = q.keen_id
group by a.exam_name
having count(*) >= 20
order by share_correct, a.exam_name;
