-- The original PySpark recipe's queries, in DataFusion SQL.
--
-- Arrays are 1-based here (standard SQL, like DuckDB and Trino): Spark's
-- `sequences.questions[0]` (the first question) is `sequences.questions[1]`; `[0]` runs but
-- yields NULL. `.user_incomplete` after a subscript works as in Spark (the `query` library
-- rewrites it to DataFusion's `['user_incomplete']`).

select keen_id from assessments limit 10;

select keen_timestamp, sequences.questions[1].user_incomplete from assessments limit 10;

select q.keen_id, a.keen_timestamp, q.question_id
from assessments a
join questions q on a.keen_id = q.keen_id
limit 10;
