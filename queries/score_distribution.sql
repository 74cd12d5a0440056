-- Score distribution: per attempt, score = correct / total questions (the promoted
-- `sequences.counts` columns `correct` and `total`), bucketed by tenths.
--
-- Attempts without a total (null or 0) are left out. A score of 100% is its own bucket.
select
    cast(floor(10.0 * correct / total) * 10 as int) as score_from_pct,
    count(*)                                        as attempts,
    round(100.0 * count(*) / sum(count(*)) over (), 1) as share_pct
from assessments
where total > 0 and correct is not null
group by 1
order by 1;

-- Summary per exam: attempts, mean and median score, share of perfect scores.
select
    exam_name,
    count(*)                                                  as attempts,
    round(avg(1.0 * correct / total), 3)                      as mean_score,
    round(median(1.0 * correct / total), 3)                   as median_score,
    round(avg(case when correct = total then 1.0 else 0.0 end), 3) as share_perfect
from assessments
where total > 0 and correct is not null
group by exam_name
having count(*) >= 10
order by mean_score, exam_name;
