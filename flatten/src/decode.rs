//! Typed decoding straight from a simd-json tape into the column buffers.
//!
//! A tape is a flat `Vec<Node>`: an object node is followed by its keys and values, each
//! value's subtree laid out contiguously, so a field lookup is a linear scan of the object's
//! keys and skipping an unknown subtree is an index jump. Each object level of the schema has
//! a fixed slot table (key → node index) filled in one scan, which makes key order free and
//! lets duplicates be detected; values are then decoded in schema order.

use crate::columns::{
    BoolCol, DictCol, I32Col, I64Col, ListOffsets, StrCol, StructValidity, TsCol,
};
use crate::numbers::{WideKind, WideNumbers};
use assessment_schema::coerce::{self, CoerceError};
use assessment_schema::{Error, JsonPath, PathSegment};
use simd_json::{Node, StaticNode};

/// Number of nodes of the subtree rooted at `node` (itself included).
#[inline]
fn span(node: &Node<'_>) -> usize {
    match node {
        Node::Object { count, .. } | Node::Array { count, .. } => count + 1,
        _ => 1,
    }
}

/// The JSON type name of a node, for "found" in errors.
fn type_name(node: &Node<'_>) -> &'static str {
    match node {
        Node::String(_) => "string",
        Node::Object { .. } => "object",
        Node::Array { .. } => "array",
        Node::Static(StaticNode::Null) => "null",
        Node::Static(StaticNode::Bool(_)) => "bool",
        Node::Static(_) => "number",
    }
}

/// An object of the schema, by position: a few bytes, `Copy`, no allocation. The JSON path
/// is rendered from it only when an error is reported.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Loc {
    /// The top-level object.
    Root,
    /// `sequences`.
    Sequences,
    /// `sequences.counts`.
    Counts,
    /// `sequences.questions[q]`.
    Question(u32),
    /// `sequences.questions[q].options[o]`.
    Option(u32, u32),
}

/// A position to report: an object (or array) of the schema, and optionally a key in it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct At(Loc, Option<&'static str>);

fn idx(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

impl Loc {
    #[inline]
    fn key(self, k: &'static str) -> At {
        At(self, Some(k))
    }

    #[inline]
    fn here(self) -> At {
        At(self, None)
    }

    fn segments(self, out: &mut Vec<PathSegment>) {
        use PathSegment::{Index, Key};
        let seq = [Key("sequences")];
        let qs = [Key("sequences"), Key("questions")];
        match self {
            Loc::Root => {}
            Loc::Sequences => out.extend(seq),
            Loc::Counts => out.extend([Key("sequences"), Key("counts")]),
            Loc::Question(q) => out.extend(qs.into_iter().chain([Index(q)])),
            Loc::Option(q, o) => {
                out.extend(qs.into_iter().chain([Index(q), Key("options"), Index(o)]));
            }
        }
    }
}

impl At {
    fn path(self) -> JsonPath {
        let mut segs = Vec::with_capacity(6);
        self.0.segments(&mut segs);
        segs.extend(self.1.map(PathSegment::Key));
        JsonPath::from_segments(segs)
    }
}

#[cold]
fn wrong_type(loc: At, expected: &'static str, node: &Node<'_>) -> Error {
    Error::WrongType {
        path: loc.path(),
        expected,
        found: type_name(node),
    }
}

#[cold]
fn invalid(loc: At, e: CoerceError, found: &str) -> Error {
    Error::invalid_value(loc.path(), e.expected, found)
}

type R<T> = Result<T, Error>;

/// Fills `slots` with the node index of each known key of the object at `idx`.
/// `lookup` maps a key to its slot. Unknown keys are counted and skipped.
#[inline]
#[allow(clippy::too_many_arguments)]
fn scan_object<const N: usize>(
    nodes: &[Node<'_>],
    idx: usize,
    len: usize,
    lookup: fn(&str) -> Option<usize>,
    names: &[&'static str; N],
    loc: Loc,
    slots: &mut [usize; N],
    unknown: &mut u64,
) -> R<()> {
    *slots = [0; N];
    let mut i = idx + 1;
    for _ in 0..len {
        let Some(Node::String(key)) = nodes.get(i) else {
            // simd-json only produces string keys; treat anything else as malformed.
            return Err(wrong_type(
                loc.here(),
                "object key",
                &nodes[i.min(nodes.len() - 1)],
            ));
        };
        let v = i + 1;
        let Some(value) = nodes.get(v) else {
            return Err(wrong_type(loc.here(), "object value", &nodes[i]));
        };
        match lookup(key) {
            Some(k) => {
                if slots[k] != 0 {
                    return Err(Error::DuplicateField {
                        path: loc.key(names[k]).path(),
                    });
                }
                slots[k] = v;
            }
            None => *unknown += 1,
        }
        i = v + span(value);
    }
    Ok(())
}

/// A decoded optional value: `None` when absent or JSON `null`.
#[inline]
fn get<'t, 'i>(nodes: &'t [Node<'i>], slot: usize) -> Option<&'t Node<'i>> {
    match nodes.get(slot) {
        _ if slot == 0 => None,
        Some(Node::Static(StaticNode::Null)) | None => None,
        Some(n) => Some(n),
    }
}

#[inline]
fn opt_str<'i>(nodes: &[Node<'i>], slot: usize, loc: At) -> R<Option<&'i str>> {
    match get(nodes, slot) {
        None => Ok(None),
        Some(Node::String(s)) => Ok(Some(s)),
        Some(n) => Err(wrong_type(loc, "string", n)),
    }
}

#[inline]
fn opt_bool(nodes: &[Node<'_>], slot: usize, loc: At) -> R<Option<bool>> {
    match get(nodes, slot) {
        None => Ok(None),
        Some(Node::Static(StaticNode::Bool(b))) => Ok(Some(*b)),
        Some(n) => Err(wrong_type(loc, "bool", n)),
    }
}

/// A bool, or a string `"true"`/`"false"` (the source writes `certification` as a string).
#[inline]
fn opt_bool_or_str(nodes: &[Node<'_>], slot: usize, loc: At) -> R<Option<bool>> {
    match get(nodes, slot) {
        None => Ok(None),
        Some(Node::Static(StaticNode::Bool(b))) => Ok(Some(*b)),
        Some(Node::String(s)) => coerce::str_to_bool(s)
            .map(Some)
            .map_err(|e| invalid(loc, e, s)),
        Some(n) => Err(wrong_type(loc, "bool or \"true\"/\"false\"", n)),
    }
}

const EXPECTED_I64: &str = "integer";

/// `found` of a number that a known field cannot take: as written if the tape holds it only
/// approximately, else its `f64` (`1.0`, `-0.0`, `1e300`).
#[cold]
fn number_text(wide: &WideNumbers, slot: usize, v: f64) -> String {
    match wide.written(slot) {
        Some((_, text)) => text.to_owned(),
        None => format!("{v:?}"),
    }
}

/// An integer in the `i64` range, written as an integer. A number with a fraction or an
/// exponent is not taken, whatever its value (`1.0`, `1e0`, `-0.0`): the tape holds only its
/// nearest `f64`, so `1.0000000000000000001` and `9007199254740993.0` would otherwise land
/// as integers they are not. Both are [`Error::InvalidValue`].
#[inline]
fn opt_i64(nodes: &[Node<'_>], slot: usize, loc: At, wide: &WideNumbers) -> R<Option<i64>> {
    match get(nodes, slot) {
        None => Ok(None),
        Some(Node::Static(StaticNode::I64(v))) => Ok(Some(*v)),
        Some(Node::Static(StaticNode::U64(v))) => i64::try_from(*v)
            .map(Some)
            .map_err(|_| Error::invalid_value(loc.path(), coerce::EXPECTED_INT64, &v.to_string())),
        Some(Node::Static(StaticNode::F64(v))) => Err(Error::invalid_value(
            loc.path(),
            coerce::EXPECTED_INT64,
            &number_text(wide, slot, *v),
        )),
        Some(n) => Err(wrong_type(loc, EXPECTED_I64, n)),
    }
}

/// A float, or a decimal string (`max_attempts` is `"1.0"` in the source). An integer is
/// taken as its nearest `f64`, also beyond `u64`; a number beyond the `f64` range (`1e400`)
/// is [`Error::InvalidValue`].
#[inline]
fn opt_f64_or_str(nodes: &[Node<'_>], slot: usize, loc: At, wide: &WideNumbers) -> R<Option<f64>> {
    match get(nodes, slot) {
        None => Ok(None),
        Some(Node::Static(StaticNode::F64(v))) if v.is_finite() => Ok(Some(*v)),
        Some(Node::Static(StaticNode::F64(v))) => Err(Error::invalid_value(
            loc.path(),
            coerce::EXPECTED_F64,
            &number_text(wide, slot, *v),
        )),
        #[allow(clippy::cast_precision_loss)]
        Some(Node::Static(StaticNode::I64(v))) => Ok(Some(*v as f64)),
        #[allow(clippy::cast_precision_loss)]
        Some(Node::Static(StaticNode::U64(v))) => Ok(Some(*v as f64)),
        Some(Node::String(s)) => coerce::str_to_f64(s)
            .map(Some)
            .map_err(|e| invalid(loc, e, s)),
        Some(n) => Err(wrong_type(loc, "number or decimal string", n)),
    }
}

/// Epoch seconds: a decimal string (exact) or an integer number of seconds.
#[inline]
fn opt_epoch(nodes: &[Node<'_>], slot: usize, loc: At, wide: &WideNumbers) -> R<Option<i64>> {
    match get(nodes, slot) {
        None => Ok(None),
        Some(Node::String(s)) => coerce::epoch_seconds_to_micros(s)
            .map(Some)
            .map_err(|e| invalid(loc, e, s)),
        Some(Node::Static(StaticNode::I64(v))) => {
            v.checked_mul(1_000_000).map(Some).ok_or_else(|| {
                Error::invalid_value(loc.path(), coerce::EXPECTED_EPOCH, &v.to_string())
            })
        }
        Some(Node::Static(StaticNode::U64(v))) => i64::try_from(*v)
            .ok()
            .and_then(|v| v.checked_mul(1_000_000))
            .map(Some)
            .ok_or_else(|| {
                Error::invalid_value(loc.path(), coerce::EXPECTED_EPOCH, &v.to_string())
            }),
        // An integer too large for the tape is out of range, as one beyond `i64` is.
        Some(n @ Node::Static(StaticNode::F64(_))) => match wide.written(slot) {
            Some((WideKind::Integer, text)) => Err(Error::invalid_value(
                loc.path(),
                coerce::EXPECTED_EPOCH,
                text,
            )),
            _ => Err(wrong_type(loc, "epoch seconds as a string", n)),
        },
        Some(n) => Err(wrong_type(loc, "epoch seconds as a string", n)),
    }
}

#[inline]
fn opt_iso(nodes: &[Node<'_>], slot: usize, loc: At) -> R<Option<i64>> {
    match get(nodes, slot) {
        None => Ok(None),
        Some(Node::String(s)) => coerce::iso8601_to_micros(s)
            .map(Some)
            .map_err(|e| invalid(loc, e, s)),
        Some(n) => Err(wrong_type(loc, "ISO-8601 timestamp string", n)),
    }
}

/// `(index, len)` of an optional object at `slot`.
#[inline]
fn opt_object(nodes: &[Node<'_>], slot: usize, loc: At) -> R<Option<(usize, usize)>> {
    match get(nodes, slot) {
        None => Ok(None),
        Some(Node::Object { len, .. }) => Ok(Some((slot, *len))),
        Some(n) => Err(wrong_type(loc, "object", n)),
    }
}

/// `(index, len)` of an optional array at `slot`.
#[inline]
fn opt_array(nodes: &[Node<'_>], slot: usize, loc: At) -> R<Option<(usize, usize)>> {
    match get(nodes, slot) {
        None => Ok(None),
        Some(Node::Array { len, .. }) => Ok(Some((slot, *len))),
        Some(n) => Err(wrong_type(loc, "array", n)),
    }
}

// ---- key tables, one per object level -------------------------------------------------

const TOP: [&str; 10] = [
    "keen_id",
    "keen_timestamp",
    "keen_created_at",
    "started_at",
    "base_exam_id",
    "user_exam_id",
    "exam_name",
    "certification",
    "max_attempts",
    "sequences",
];
fn top_key(k: &str) -> Option<usize> {
    Some(match k {
        "keen_id" => 0,
        "keen_timestamp" => 1,
        "keen_created_at" => 2,
        "started_at" => 3,
        "base_exam_id" => 4,
        "user_exam_id" => 5,
        "exam_name" => 6,
        "certification" => 7,
        "max_attempts" => 8,
        "sequences" => 9,
        _ => return None,
    })
}

const SEQ: [&str; 4] = ["id", "attempt", "counts", "questions"];
fn seq_key(k: &str) -> Option<usize> {
    Some(match k {
        "id" => 0,
        "attempt" => 1,
        "counts" => 2,
        "questions" => 3,
        _ => return None,
    })
}

const COUNTS: [&str; 7] = [
    "incomplete",
    "submitted",
    "incorrect",
    "all_correct",
    "correct",
    "total",
    "unanswered",
];
fn counts_key(k: &str) -> Option<usize> {
    Some(match k {
        "incomplete" => 0,
        "submitted" => 1,
        "incorrect" => 2,
        "all_correct" => 3,
        "correct" => 4,
        "total" => 5,
        "unanswered" => 6,
        _ => return None,
    })
}

const QUESTION: [&str; 6] = [
    "id",
    "user_result",
    "user_correct",
    "user_incomplete",
    "user_submitted",
    "options",
];
fn question_key(k: &str) -> Option<usize> {
    Some(match k {
        "id" => 0,
        "user_result" => 1,
        "user_correct" => 2,
        "user_incomplete" => 3,
        "user_submitted" => 4,
        "options" => 5,
        _ => return None,
    })
}

const OPTION: [&str; 5] = ["id", "checked", "correct", "submitted", "at"];
fn option_key(k: &str) -> Option<usize> {
    Some(match k {
        "id" => 0,
        "checked" => 1,
        "correct" => 2,
        "submitted" => 3,
        "at" => 4,
        _ => return None,
    })
}

// ---- column sets ------------------------------------------------------------------------

/// Provenance of one message, copied into every row it produces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Prov {
    /// Index of the topic in the batch's topic dictionary.
    pub(crate) topic_key: usize,
    pub(crate) partition: i32,
    pub(crate) offset: i64,
}

#[derive(Debug, Default)]
pub(crate) struct ProvCols {
    pub(crate) topic: DictCol,
    pub(crate) partition: I32Col,
    pub(crate) offset: I64Col,
}

impl ProvCols {
    #[inline]
    pub(crate) fn push(&mut self, p: Prov) {
        self.topic.push(p.topic_key, true);
        self.partition.push(p.partition);
        self.offset.push(p.offset);
    }

    fn truncate(&mut self, len: usize) {
        self.topic.truncate(len);
        self.partition.truncate(len);
        self.offset.truncate(len);
    }
}

/// Option-level columns: the `options` table and the innermost struct of `sequences`.
#[derive(Debug, Default)]
pub(crate) struct OptionCols {
    pub(crate) prov: ProvCols,
    /// Keys into the events' `keen_id`.
    pub(crate) keen_id: DictCol,
    pub(crate) question_index: I32Col,
    /// Keys into the questions' `id`.
    pub(crate) question_id: DictCol,
    pub(crate) option_index: I32Col,
    pub(crate) id: StrCol,
    pub(crate) checked: BoolCol,
    pub(crate) correct: BoolCol,
    pub(crate) submitted: I64Col,
    pub(crate) at: TsCol,
}

impl OptionCols {
    pub(crate) fn len(&self) -> usize {
        self.option_index.len()
    }

    fn truncate(&mut self, n: usize) {
        self.prov.truncate(n);
        self.keen_id.truncate(n);
        self.question_index.truncate(n);
        self.question_id.truncate(n);
        self.option_index.truncate(n);
        self.id.truncate(n);
        self.checked.truncate(n);
        self.correct.truncate(n);
        self.submitted.truncate(n);
        self.at.0.truncate(n);
    }
}

/// Question-level columns: the `questions` table and the question struct of `sequences`.
#[derive(Debug, Default)]
pub(crate) struct QuestionCols {
    pub(crate) prov: ProvCols,
    /// Keys into the events' `keen_id`.
    pub(crate) keen_id: DictCol,
    /// Keys into the events' `user_exam_id`.
    pub(crate) user_exam_id: DictCol,
    pub(crate) question_index: I32Col,
    pub(crate) id: StrCol,
    pub(crate) user_result: StrCol,
    pub(crate) user_correct: BoolCol,
    pub(crate) user_incomplete: BoolCol,
    pub(crate) user_submitted: BoolCol,
    pub(crate) option_count: I32Col,
    /// Offsets of each question's `options` list into [`OptionCols`].
    pub(crate) options: ListOffsets,
}

impl QuestionCols {
    pub(crate) fn len(&self) -> usize {
        self.question_index.len()
    }

    fn truncate(&mut self, n: usize) {
        self.prov.truncate(n);
        self.keen_id.truncate(n);
        self.user_exam_id.truncate(n);
        self.question_index.truncate(n);
        self.id.truncate(n);
        self.user_result.truncate(n);
        self.user_correct.truncate(n);
        self.user_incomplete.truncate(n);
        self.user_submitted.truncate(n);
        self.option_count.truncate(n);
        self.options.truncate(n);
    }
}

/// Event-level columns: the `assessments` table.
#[derive(Debug, Default)]
pub(crate) struct EventCols {
    pub(crate) prov: ProvCols,
    pub(crate) keen_id: StrCol,
    pub(crate) keen_timestamp: TsCol,
    pub(crate) keen_created_at: TsCol,
    pub(crate) started_at: TsCol,
    pub(crate) base_exam_id: StrCol,
    pub(crate) user_exam_id: StrCol,
    pub(crate) exam_name: StrCol,
    pub(crate) certification: BoolCol,
    pub(crate) max_attempts: crate::columns::PrimCol<arrow_array::types::Float64Type>,
    pub(crate) sequences_valid: StructValidity,
    pub(crate) sequence_id: StrCol,
    pub(crate) attempt: I64Col,
    pub(crate) counts_valid: StructValidity,
    pub(crate) counts_i64: [I64Col; 6],
    pub(crate) all_correct: BoolCol,
    pub(crate) question_count: I32Col,
    /// Offsets of each event's `questions` list into [`QuestionCols`].
    pub(crate) questions: ListOffsets,
}

/// The positions of the six integer counts inside [`COUNTS`] (the seventh is `all_correct`).
pub(crate) const COUNTS_I64: [usize; 6] = [0, 1, 2, 4, 5, 6];
/// The count names, in `assessments` column order.
pub(crate) const COUNTS_NAMES: [&str; 7] = COUNTS;

/// All column buffers of one in-progress batch.
#[derive(Debug, Default)]
pub(crate) struct Decoder {
    pub(crate) events: EventCols,
    pub(crate) questions: QuestionCols,
    pub(crate) options: OptionCols,
    /// Unknown object members seen (any level), since the last flush.
    pub(crate) unknown_fields: u64,
    /// Numbers of the value being decoded that its tape holds only approximately (empty
    /// unless it took the cold path of [`crate::numbers`]).
    pub(crate) wide: WideNumbers,
}

/// An event's top-level fields, read and checked, not yet appended.
struct Top<'i> {
    keen_id: &'i str,
    keen_timestamp: Option<i64>,
    keen_created_at: Option<i64>,
    started_at: Option<i64>,
    base_exam_id: Option<&'i str>,
    user_exam_id: Option<&'i str>,
    exam_name: Option<&'i str>,
    certification: Option<bool>,
    max_attempts: Option<f64>,
}

/// An event's `sequences` fields, read and checked, not yet appended (all absent when the
/// event has no `sequences` object).
#[derive(Default)]
struct Sequences<'i> {
    present: bool,
    id: Option<&'i str>,
    attempt: Option<i64>,
    counts_present: bool,
    counts_i64: [Option<i64>; 6],
    all_correct: Option<bool>,
    questions_valid: bool,
}

impl Decoder {
    /// Decodes one parsed event. On `Err`, no row of any table has been appended.
    pub(crate) fn decode(&mut self, nodes: &[Node<'_>], prov: Prov) -> R<()> {
        let q_mark = self.questions.len();
        let o_mark = self.options.len();
        let unknown_mark = self.unknown_fields;
        let result = self.decode_inner(nodes, prov);
        if result.is_err() {
            self.questions.truncate(q_mark);
            self.options.truncate(o_mark);
            self.unknown_fields = unknown_mark;
        }
        result
    }

    fn decode_inner(&mut self, nodes: &[Node<'_>], prov: Prov) -> R<()> {
        let len = match nodes.first() {
            Some(Node::Object { len, .. }) => *len,
            Some(n) => {
                return Err(Error::NotAnObject {
                    found: type_name(n),
                });
            }
            None => {
                return Err(Error::NotAnObject { found: "nothing" });
            }
        };
        let mut slots = [0usize; 10];
        scan_object(
            nodes,
            0,
            len,
            top_key,
            &TOP,
            Loc::Root,
            &mut slots,
            &mut self.unknown_fields,
        )?;
        let top = self.read_top(nodes, &slots)?;
        let q_start = self.questions.len();
        let seq = self.read_sequences(nodes, slots[9], prov, top.user_exam_id.is_some())?;
        self.push_event(prov, &top, &seq, q_start);
        Ok(())
    }

    /// The top-level fields of an event (slot 9, `sequences`, is read by
    /// [`Self::read_sequences`]), in the order of [`TOP`].
    #[inline]
    fn read_top<'i>(&self, nodes: &[Node<'i>], slots: &[usize; 10]) -> R<Top<'i>> {
        let root = Loc::Root;
        let Some(keen_id) = opt_str(nodes, slots[0], root.key("keen_id"))? else {
            return Err(Error::MissingField {
                path: root.key("keen_id").path(),
            });
        };
        let wide = &self.wide;
        Ok(Top {
            keen_id,
            keen_timestamp: opt_epoch(nodes, slots[1], root.key("keen_timestamp"), wide)?,
            keen_created_at: opt_epoch(nodes, slots[2], root.key("keen_created_at"), wide)?,
            started_at: opt_iso(nodes, slots[3], root.key("started_at"))?,
            base_exam_id: opt_str(nodes, slots[4], root.key("base_exam_id"))?,
            user_exam_id: opt_str(nodes, slots[5], root.key("user_exam_id"))?,
            exam_name: opt_str(nodes, slots[6], root.key("exam_name"))?,
            certification: opt_bool_or_str(nodes, slots[7], root.key("certification"))?,
            max_attempts: opt_f64_or_str(nodes, slots[8], root.key("max_attempts"), wide)?,
        })
    }

    /// The event's `sequences` object at `slot` (all fields absent without one); its
    /// questions and their options are appended to the child tables on the way.
    #[inline]
    fn read_sequences<'i>(
        &mut self,
        nodes: &[Node<'i>],
        slot: usize,
        prov: Prov,
        has_user_exam_id: bool,
    ) -> R<Sequences<'i>> {
        let mut seq = Sequences::default();
        let Some((sidx, slen)) = opt_object(nodes, slot, Loc::Root.key("sequences"))? else {
            return Ok(seq);
        };
        seq.present = true;
        let seq_loc = Loc::Sequences;
        let mut s = [0usize; 4];
        scan_object(
            nodes,
            sidx,
            slen,
            seq_key,
            &SEQ,
            seq_loc,
            &mut s,
            &mut self.unknown_fields,
        )?;
        seq.id = opt_str(nodes, s[0], seq_loc.key("id"))?;
        seq.attempt = opt_i64(nodes, s[1], seq_loc.key("attempt"), &self.wide)?;
        if let Some((cidx, clen)) = opt_object(nodes, s[2], seq_loc.key("counts"))? {
            self.read_counts(nodes, cidx, clen, &mut seq)?;
        }
        if let Some((qidx, qlen)) = opt_array(nodes, s[3], seq_loc.key("questions"))? {
            seq.questions_valid = true;
            let event_row = self.events.keen_id.len();
            self.decode_questions(nodes, qidx, qlen, prov, event_row, has_user_exam_id)?;
        }
        Ok(seq)
    }

    /// The `sequences.counts` object at node `cidx` (`clen` members) into `seq`.
    #[inline]
    fn read_counts(
        &mut self,
        nodes: &[Node<'_>],
        cidx: usize,
        clen: usize,
        seq: &mut Sequences<'_>,
    ) -> R<()> {
        let counts_loc = Loc::Counts;
        seq.counts_present = true;
        let mut c = [0usize; 7];
        scan_object(
            nodes,
            cidx,
            clen,
            counts_key,
            &COUNTS,
            counts_loc,
            &mut c,
            &mut self.unknown_fields,
        )?;
        for (out, &k) in seq.counts_i64.iter_mut().zip(COUNTS_I64.iter()) {
            *out = opt_i64(nodes, c[k], counts_loc.key(COUNTS[k]), &self.wide)?;
        }
        seq.all_correct = opt_bool(nodes, c[3], counts_loc.key("all_correct"))?;
        Ok(())
    }

    /// Appends the event row once every check passed; its questions are the child rows
    /// from `q_start` on.
    #[inline]
    fn push_event(&mut self, prov: Prov, top: &Top<'_>, seq: &Sequences<'_>, q_start: usize) {
        let e = &mut self.events;
        e.prov.push(prov);
        e.keen_id.push(top.keen_id);
        e.keen_timestamp.0.push_opt(top.keen_timestamp);
        e.keen_created_at.0.push_opt(top.keen_created_at);
        e.started_at.0.push_opt(top.started_at);
        e.base_exam_id.push_opt(top.base_exam_id);
        e.user_exam_id.push_opt(top.user_exam_id);
        e.exam_name.push_opt(top.exam_name);
        e.certification.push_opt(top.certification);
        e.max_attempts.push_opt(top.max_attempts);
        e.sequences_valid.push(seq.present);
        e.sequence_id.push_opt(seq.id);
        e.attempt.push_opt(seq.attempt);
        e.counts_valid.push(seq.counts_present);
        for (col, v) in e.counts_i64.iter_mut().zip(seq.counts_i64) {
            col.push_opt(v);
        }
        e.all_correct.push_opt(seq.all_correct);
        let q_end = self.questions.len();
        e.question_count
            .push(i32::try_from(q_end - q_start).unwrap_or(i32::MAX));
        e.questions.push(q_end, seq.questions_valid);
    }

    #[allow(clippy::too_many_arguments)]
    fn decode_questions(
        &mut self,
        nodes: &[Node<'_>],
        qidx: usize,
        qlen: usize,
        prov: Prov,
        event_row: usize,
        has_user_exam_id: bool,
    ) -> R<()> {
        let mut i = qidx + 1;
        for qi in 0..qlen {
            let loc = Loc::Question(idx(qi));
            let node = nodes
                .get(i)
                .ok_or_else(|| wrong_type(loc.here(), "object", &nodes[qidx]))?;
            let Node::Object { len, .. } = node else {
                return Err(wrong_type(loc.here(), "object", node));
            };
            let mut q = [0usize; 6];
            scan_object(
                nodes,
                i,
                *len,
                question_key,
                &QUESTION,
                loc,
                &mut q,
                &mut self.unknown_fields,
            )?;
            let id = opt_str(nodes, q[0], loc.key("id"))?;
            let user_result = opt_str(nodes, q[1], loc.key("user_result"))?;
            let user_correct = opt_bool(nodes, q[2], loc.key("user_correct"))?;
            let user_incomplete = opt_bool(nodes, q[3], loc.key("user_incomplete"))?;
            let user_submitted = opt_bool(nodes, q[4], loc.key("user_submitted"))?;
            let qi32 = i32::try_from(qi).unwrap_or(i32::MAX);

            let o_start = self.options.len();
            let options = opt_array(nodes, q[5], loc.key("options"))?;
            if let Some((oidx, olen)) = options {
                let question_row = self.questions.len();
                self.decode_options(
                    nodes,
                    oidx,
                    olen,
                    prov,
                    event_row,
                    qi32,
                    question_row,
                    id.is_some(),
                )?;
            }
            let o_end = self.options.len();

            let c = &mut self.questions;
            c.prov.push(prov);
            c.keen_id.push(event_row, true);
            c.user_exam_id.push(event_row, has_user_exam_id);
            c.question_index.push(qi32);
            c.id.push_opt(id);
            c.user_result.push_opt(user_result);
            c.user_correct.push_opt(user_correct);
            c.user_incomplete.push_opt(user_incomplete);
            c.user_submitted.push_opt(user_submitted);
            c.option_count
                .push(i32::try_from(o_end - o_start).unwrap_or(i32::MAX));
            c.options.push(o_end, options.is_some());
            i += span(node);
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn decode_options(
        &mut self,
        nodes: &[Node<'_>],
        oidx: usize,
        olen: usize,
        prov: Prov,
        event_row: usize,
        question_index: i32,
        question_row: usize,
        has_question_id: bool,
    ) -> R<()> {
        let mut i = oidx + 1;
        for oi in 0..olen {
            let loc = Loc::Option(question_index.unsigned_abs(), idx(oi));
            let node = nodes
                .get(i)
                .ok_or_else(|| wrong_type(loc.here(), "object", &nodes[oidx]))?;
            let Node::Object { len, .. } = node else {
                return Err(wrong_type(loc.here(), "object", node));
            };
            let mut o = [0usize; 5];
            scan_object(
                nodes,
                i,
                *len,
                option_key,
                &OPTION,
                loc,
                &mut o,
                &mut self.unknown_fields,
            )?;
            let id = opt_str(nodes, o[0], loc.key("id"))?;
            let checked = opt_bool(nodes, o[1], loc.key("checked"))?;
            let correct = opt_bool(nodes, o[2], loc.key("correct"))?;
            let submitted = opt_i64(nodes, o[3], loc.key("submitted"), &self.wide)?;
            let at = opt_iso(nodes, o[4], loc.key("at"))?;

            let c = &mut self.options;
            c.prov.push(prov);
            c.keen_id.push(event_row, true);
            c.question_index.push(question_index);
            c.question_id.push(question_row, has_question_id);
            c.option_index.push(i32::try_from(oi).unwrap_or(i32::MAX));
            c.id.push_opt(id);
            c.checked.push_opt(checked);
            c.correct.push_opt(correct);
            c.submitted.push_opt(submitted);
            c.at.0.push_opt(at);
            i += span(node);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_counts_keys_and_nested_values() {
        let mut json = br#"{"a":[1,{"b":2}],"c":3}"#.to_vec();
        let tape = simd_json::to_tape(&mut json).unwrap();
        // root object spans the whole tape
        assert_eq!(span(&tape.0[0]), tape.0.len());
        let mut slots = [0usize; 2];
        let mut unknown = 0;
        scan_object(
            &tape.0,
            0,
            2,
            |k| match k {
                "a" => Some(0),
                "c" => Some(1),
                _ => None,
            },
            &["a", "c"],
            Loc::Root,
            &mut slots,
            &mut unknown,
        )
        .unwrap();
        assert!(matches!(tape.0[slots[0]], Node::Array { len: 2, .. }));
        assert!(matches!(
            tape.0[slots[1]],
            Node::Static(StaticNode::I64(3)) | Node::Static(StaticNode::U64(3))
        ));
        assert_eq!(unknown, 0);
    }
}
