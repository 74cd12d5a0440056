//! Turning the column buffers into the five record batches.

use crate::decode::{
    COUNTS_I64, COUNTS_NAMES, Decoder, EventCols, OptionCols, ProvCols, QuestionCols,
};
use crate::{Error, RawCols, RejectCols};
use arrow_array::{ArrayRef, ListArray, RecordBatch, StructArray};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{DataType, Field, Fields};
use assessment_schema::Table;
use assessment_schema::tables::{
    counts_fields, landed_schema, option_fields, question_fields, schema, sequences_fields,
};
use std::sync::Arc;

/// Counts of one flushed batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// Messages pushed (= `raw` rows when `build_raw`).
    pub messages: usize,
    /// Messages that became an `assessments` row.
    pub accepted: usize,
    /// Messages that became a `rejects` row.
    pub rejected: usize,
    /// Bytes of message values pushed.
    pub input_bytes: usize,
    /// Object members not in the schema (any level) of accepted events; they stay in `raw`.
    pub unknown_fields: u64,
    /// Values parsed a second time because they hold a number simd-json's tape cannot (an
    /// integer beyond `i64`/`u64`, a number beyond `f64`), in a known field or not. Each costs
    /// about one more parse; the event lands as it would with a small number there.
    pub reparsed: usize,
}

/// The output of one [`crate::Flattener::flush`]: a record batch per table.
#[derive(Debug, Clone)]
pub struct Flattened {
    batches: [RecordBatch; 5],
    /// What went in and where it went.
    pub stats: BatchStats,
}

impl Flattened {
    /// The batch of `table` (its schema is [`assessment_schema::tables::schema`]).
    pub fn batch(&self, table: Table) -> &RecordBatch {
        &self.batches[table as usize]
    }

    /// `(table, batch)` for all five tables, in [`Table::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Table, &RecordBatch)> {
        Table::ALL.into_iter().zip(self.batches.iter())
    }

    /// Consumes the output into `(table, batch)` pairs.
    pub fn into_batches(self) -> [(Table, RecordBatch); 5] {
        let [a, b, c, d, e] = self.batches;
        [
            (Table::Raw, a),
            (Table::Assessments, b),
            (Table::Questions, c),
            (Table::Options, d),
            (Table::Rejects, e),
        ]
    }
}

/// Maps an Arrow error to ours, naming the table it was building.
fn arrow(table: Table) -> impl Fn(arrow_schema::ArrowError) -> Error {
    move |source| Error::Arrow { table, source }
}

fn batch(table: Table, columns: Vec<ArrayRef>) -> Result<RecordBatch, Error> {
    RecordBatch::try_new(schema(table), columns).map_err(arrow(table))
}

fn prov(p: &mut ProvCols, topics: &ArrayRef, table: Table) -> Result<Vec<ArrayRef>, Error> {
    let topic = p.topic.finish(Arc::clone(topics)).map_err(arrow(table))?;
    Ok(vec![topic, p.partition.finish(), p.offset.finish()])
}

/// The six columns of a message as it arrived (`raw`, and the start of `rejects`).
fn message_columns(
    m: &mut RawCols,
    topics: &ArrayRef,
    table: Table,
) -> Result<Vec<ArrayRef>, Error> {
    let topic = m.topic.finish(Arc::clone(topics)).map_err(arrow(table))?;
    Ok(vec![
        topic,
        m.partition.finish(),
        m.offset.finish(),
        m.timestamp.finish(),
        m.key.finish(),
        m.value.finish(),
    ])
}

fn list_of(fields: Fields) -> Arc<Field> {
    Arc::new(Field::new_list_field(DataType::Struct(fields), true))
}

/// The finished arrays the nested `sequences` column is assembled from.
struct SequenceParts {
    /// `id, checked, correct, submitted, at` of every option.
    options: Vec<ArrayRef>,
    /// Offsets and validity of each question's `options` list.
    question_options: (OffsetBuffer<i32>, Option<NullBuffer>),
    /// `id, user_result, user_correct, user_incomplete, user_submitted` of every question.
    questions: Vec<ArrayRef>,
    /// Offsets and validity of each event's `questions` list.
    event_questions: (OffsetBuffer<i32>, Option<NullBuffer>),
    /// The seven counts, in schema order, and the validity of `counts`.
    counts: Vec<ArrayRef>,
    counts_valid: Option<NullBuffer>,
    sequence_id: ArrayRef,
    attempt: ArrayRef,
    /// Validity of `sequences`.
    valid: Option<NullBuffer>,
}

/// A list (offsets and validity `list`) of `fields` structs made of `columns`; an Arrow error
/// is the struct's `item_table`'s or the list's `list_table`'s.
fn list_of_structs(
    fields: Fields,
    columns: Vec<ArrayRef>,
    (offsets, nulls): (OffsetBuffer<i32>, Option<NullBuffer>),
    item_table: Table,
    list_table: Table,
) -> Result<ArrayRef, Error> {
    let items = StructArray::try_new(fields.clone(), columns, None).map_err(arrow(item_table))?;
    let list = ListArray::try_new(list_of(fields), offsets, Arc::new(items), nulls)
        .map_err(arrow(list_table))?;
    Ok(Arc::new(list))
}

/// `assessments.sequences`: options in questions in events, sharing the flat tables' arrays.
fn nested_sequences_column(p: SequenceParts) -> Result<ArrayRef, Error> {
    let mut question_cols = p.questions;
    question_cols.push(list_of_structs(
        option_fields(),
        p.options,
        p.question_options,
        Table::Options,
        Table::Questions,
    )?);
    let questions_list = list_of_structs(
        question_fields(),
        question_cols,
        p.event_questions,
        Table::Questions,
        Table::Assessments,
    )?;
    let counts_struct = StructArray::try_new(counts_fields(), p.counts, p.counts_valid)
        .map_err(arrow(Table::Assessments))?;
    let sequences = StructArray::try_new(
        sequences_fields(),
        vec![
            p.sequence_id,
            p.attempt,
            Arc::new(counts_struct),
            questions_list,
        ],
        p.valid,
    )
    .map_err(arrow(Table::Assessments))?;
    Ok(Arc::new(sequences))
}

/// The parent columns child rows reference through dictionary keys: `assessments.keen_id`,
/// `assessments.user_exam_id` and `questions.question_id`, finished first.
struct ParentKeys {
    keen_id: ArrayRef,
    user_exam_id: ArrayRef,
    question_id: ArrayRef,
}

/// The arrays of the child tables the nested `sequences` column shares (see
/// [`SequenceParts`]).
struct ChildLeaves {
    options: Vec<ArrayRef>,
    question_options: (OffsetBuffer<i32>, Option<NullBuffer>),
    questions: Vec<ArrayRef>,
}

pub(crate) fn build(
    topics: &ArrayRef,
    raw: &mut RawCols,
    d: &mut Decoder,
    rj: &mut RejectCols,
    stats: BatchStats,
    build_raw: bool,
    nested_sequences: bool,
) -> Result<Flattened, Error> {
    let keys = ParentKeys {
        keen_id: d.events.keen_id.finish(),
        user_exam_id: d.events.user_exam_id.finish(),
        question_id: d.questions.id.finish(),
    };
    let (options, option_leaves) = options_batch(&mut d.options, topics, &keys)?;
    let (questions, leaves) = questions_batch(&mut d.questions, topics, &keys, option_leaves)?;
    let assessments = assessments_batch(&mut d.events, topics, keys, leaves, nested_sequences)?;
    let raw = if build_raw {
        batch(Table::Raw, message_columns(raw, topics, Table::Raw)?)?
    } else {
        RecordBatch::new_empty(schema(Table::Raw))
    };
    let mut cols = message_columns(&mut rj.msg, topics, Table::Rejects)?;
    cols.extend([rj.kind.finish(), rj.path.finish(), rj.error.finish()]);
    let rejects = batch(Table::Rejects, cols)?;
    Ok(Flattened {
        batches: [raw, assessments, questions, options, rejects],
        stats,
    })
}

/// `options`: the innermost level; its `id, checked, correct, submitted, at` are shared with
/// `sequences` (their list offsets are the questions', see [`questions_batch`]).
fn options_batch(
    o: &mut OptionCols,
    topics: &ArrayRef,
    keys: &ParentKeys,
) -> Result<(RecordBatch, Vec<ArrayRef>), Error> {
    let leaves = vec![
        o.id.finish(),
        o.checked.finish(),
        o.correct.finish(),
        o.submitted.finish(),
        o.at.finish(),
    ];
    let mut cols = prov(&mut o.prov, topics, Table::Options)?;
    cols.extend([
        o.keen_id
            .finish(Arc::clone(&keys.keen_id))
            .map_err(arrow(Table::Options))?,
        o.question_index.finish(),
        o.question_id
            .finish(Arc::clone(&keys.question_id))
            .map_err(arrow(Table::Options))?,
        o.option_index.finish(),
    ]);
    cols.extend(leaves.iter().cloned());
    Ok((batch(Table::Options, cols)?, leaves))
}

/// `questions`; with the options' leaves, the offsets of each question's `options` list and
/// the questions' own `id, user_result, user_correct, user_incomplete, user_submitted`, what
/// `sequences` shares of the child tables.
fn questions_batch(
    q: &mut QuestionCols,
    topics: &ArrayRef,
    keys: &ParentKeys,
    options: Vec<ArrayRef>,
) -> Result<(RecordBatch, ChildLeaves), Error> {
    let leaves = vec![
        Arc::clone(&keys.question_id),
        q.user_result.finish(),
        q.user_correct.finish(),
        q.user_incomplete.finish(),
        q.user_submitted.finish(),
    ];
    let question_options = q.options.finish();
    let mut cols = prov(&mut q.prov, topics, Table::Questions)?;
    cols.extend([
        q.keen_id
            .finish(Arc::clone(&keys.keen_id))
            .map_err(arrow(Table::Questions))?,
        q.user_exam_id
            .finish(Arc::clone(&keys.user_exam_id))
            .map_err(arrow(Table::Questions))?,
        q.question_index.finish(),
    ]);
    cols.extend(leaves.iter().cloned());
    cols.push(q.option_count.finish());
    let leaves = ChildLeaves {
        options,
        question_options,
        questions: leaves,
    };
    Ok((batch(Table::Questions, cols)?, leaves))
}

/// The seven counts, in schema order; the integer ones come from `counts_i64`.
fn counts_columns(e: &mut EventCols) -> Result<Vec<ArrayRef>, Error> {
    let mut ints = e.counts_i64.iter_mut().map(|c| c.finish());
    let mut all_correct = Some(e.all_correct.finish());
    (0..COUNTS_NAMES.len())
        .map(|k| {
            if COUNTS_I64.contains(&k) {
                ints.next()
            } else {
                all_correct.take()
            }
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| {
            arrow(Table::Assessments)(arrow_schema::ArrowError::SchemaError(
                "counts columns out of step".into(),
            ))
        })
}

/// `assessments`, with the nested `sequences` column assembled (zero-copy, from the child
/// tables' arrays) only when it is landed. Every builder is finished (and so reset) either
/// way.
fn assessments_batch(
    e: &mut EventCols,
    topics: &ArrayRef,
    keys: ParentKeys,
    leaves: ChildLeaves,
    nested_sequences: bool,
) -> Result<RecordBatch, Error> {
    let counts = counts_columns(e)?;
    let seq_id = e.sequence_id.finish();
    let attempt = e.attempt.finish();
    let parts = SequenceParts {
        options: leaves.options,
        question_options: leaves.question_options,
        questions: leaves.questions,
        event_questions: e.questions.finish(),
        counts: counts.clone(),
        counts_valid: e.counts_valid.finish(),
        sequence_id: Arc::clone(&seq_id),
        attempt: Arc::clone(&attempt),
        valid: e.sequences_valid.finish(),
    };
    let sequences = if nested_sequences {
        Some(nested_sequences_column(parts)?)
    } else {
        None
    };
    let mut cols = prov(&mut e.prov, topics, Table::Assessments)?;
    cols.extend([
        keys.keen_id,
        e.keen_timestamp.finish(),
        e.keen_created_at.finish(),
        e.started_at.finish(),
        e.base_exam_id.finish(),
        keys.user_exam_id,
        e.exam_name.finish(),
        e.certification.finish(),
        e.max_attempts.finish(),
        seq_id,
        attempt,
    ]);
    cols.extend(counts);
    cols.push(e.question_count.finish());
    cols.extend(sequences);
    RecordBatch::try_new(landed_schema(Table::Assessments, nested_sequences), cols)
        .map_err(arrow(Table::Assessments))
}
