"""What a Delta reader nobody here wrote (Python `deltalake`) sees of one topic in a warehouse,
checked for whole committed ranges: run by the `land --follow` crash test after every kill.

    python check_whole_ranges.py WAREHOUSE_URL TOPIC PARTITIONS

Per partition and table, the table's `txn` version for the partition (app id
`kafka/<topic>/<partition>`) is the last offset it committed. Rules checked:

* no row twice (a table's key: `_partition, _offset` plus its index columns);
* `raw` holds every offset from 0 to its txn version exactly once (no partial range, no gap);
* no table holds an offset above its txn version (no row of an uncommitted range);
* up to the lowest of the txn versions of `raw`, `assessments` and `rejects`, the offsets of
  `assessments` and of `rejects` are disjoint and together are exactly `raw`'s;
* every `questions` / `options` row belongs to an `assessments` row.

Prints one line per partition (the txn versions) and exits 1 with the broken rule otherwise.
A table that does not exist yet (the first run was killed before creating it) counts as empty.
"""

import sys

import pyarrow.compute as pc
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError

KEYS = {
    "raw": [],
    "assessments": [],
    "rejects": [],
    "questions": ["question_index"],
    "options": ["question_index", "option_index"],
}


def fail(msg):
    print(f"VIOLATION: {msg}")
    sys.exit(1)


def read(url, table, partitions, topic):
    """(txn version per partition, rows as tuples of the key columns) of one table."""
    try:
        dt = DeltaTable(f"{url}/{table}")
    except TableNotFoundError:
        return {}, []
    versions = {}
    for p in range(partitions):
        v = dt.transaction_version(f"kafka/{topic}/{p}")
        if v is not None:
            versions[p] = v
    cols = ["_topic", "_partition", "_offset"] + KEYS[table]
    t = dt.to_pyarrow_table(columns=cols)
    t = t.filter(pc.equal(t["_topic"].cast("string"), topic))
    rows = list(zip(*(t[c].to_pylist() for c in cols[1:])))
    return versions, rows


def check(url, topic, partitions):
    versions, rows = {}, {}
    for table in KEYS:
        versions[table], rows[table] = read(url, table, partitions, topic)
        if len(set(rows[table])) != len(rows[table]):
            fail(f"{table}: a row is there twice")
        for key in rows[table]:
            p, o = key[0], key[1]
            if o > versions[table].get(p, -1):
                fail(f"{table}: offset {p}:{o} above the table's txn version "
                     f"{versions[table].get(p)} (a row of an uncommitted range)")
    offsets = {t: {} for t in KEYS}
    for table in KEYS:
        for key in rows[table]:
            offsets[table].setdefault(key[0], set()).add(key[1])
    for p in range(partitions):
        raw_v = versions["raw"].get(p, -1)
        raw = offsets["raw"].get(p, set())
        if raw != set(range(raw_v + 1)):
            fail(f"raw: partition {p} holds {len(raw)} offsets, not exactly 0..={raw_v} "
                 "(a partial range or a gap)")
        low = min(versions[t].get(p, -1) for t in ("raw", "assessments", "rejects"))
        a = {o for o in offsets["assessments"].get(p, set()) if o <= low}
        r = {o for o in offsets["rejects"].get(p, set()) if o <= low}
        if a & r:
            fail(f"partition {p}: offset {min(a & r)} both in assessments and rejects")
        if a | r != set(range(low + 1)):
            missing = sorted(set(range(low + 1)) - (a | r))[:5]
            fail(f"partition {p}: assessments + rejects miss offsets {missing} of 0..={low}")
        for child in ("questions", "options"):
            top = min(versions[child].get(p, -1), versions["assessments"].get(p, -1))
            orphan = {o for o in offsets[child].get(p, set()) if o <= top} - offsets[
                "assessments"
            ].get(p, set())
            if orphan:
                fail(f"{child}: partition {p} offset {min(orphan)} has no assessments row")
        print(f"partition {p}: " + " ".join(f"{t}={versions[t].get(p)}" for t in KEYS))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    check(sys.argv[1], sys.argv[2], int(sys.argv[3]))
