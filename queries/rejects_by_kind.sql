-- Rejects by error kind: messages that were not valid events, why, and where.
--
-- `error_kind` is one of malformed_json, invalid_utf8, not_an_object, too_deep, too_large,
-- empty_value, missing_field, wrong_type, invalid_value, duplicate_field; `error_path` is
-- the JSON path of the offending value (null for parse-level errors).

-- Every message by outcome: valid events and each kind of reject (raw = assessments +
-- rejects, so this always has rows).
select
    coalesce(r.error_kind, 'valid event') as outcome,
    count(*)                              as messages,
    round(100.0 * count(*) / sum(count(*)) over (), 2) as share_pct
from raw
left join rejects r
    on r._topic = raw._topic and r._partition = raw._partition and r._offset = raw._offset
group by 1
order by messages desc, outcome;

-- Rejects per kind and JSON path, with one example message each.
select
    error_kind,
    error_path,
    count(*)   as rejects,
    min(error) as example_error
from rejects
group by error_kind, error_path
order by rejects desc, error_kind, error_path;
