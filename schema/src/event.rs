//! Typed, borrowed serde structs of one assessment-attempt event.
//!
//! Field types follow the source as it is (strings for timestamps, booleans and floats);
//! [`crate::coerce`] converts them. Every field is optional except `keen_id`, so that a
//! missing field becomes a null rather than an error; unknown fields are ignored. Strings are
//! `Cow<'a, str>`: borrowed when the JSON has no escapes, owned otherwise.
//!
//! ```
//! use assessment_schema::event::AssessmentEvent;
//! let json = r#"{"keen_id":"k1","exam_name":"Learning Git","sequences":{"questions":[]}}"#;
//! let e: AssessmentEvent<'_> = serde_json::from_str(json).unwrap();
//! assert_eq!(e.keen_id, "k1");
//! assert_eq!(e.exam_name.as_deref(), Some("Learning Git"));
//! ```

use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// One finished assessment attempt.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct AssessmentEvent<'a> {
    /// Unique event id (required).
    #[serde(borrow)]
    pub keen_id: Cow<'a, str>,
    /// Epoch seconds as a decimal string, e.g. `"1516717442.735266"`.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub keen_timestamp: Option<Cow<'a, str>>,
    /// Epoch seconds as a decimal string.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub keen_created_at: Option<Cow<'a, str>>,
    /// ISO-8601, e.g. `"2018-01-23T14:23:19.082Z"`.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Cow<'a, str>>,
    /// The exam's id.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub base_exam_id: Option<Cow<'a, str>>,
    /// The user's attempt id (the default Kafka key).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub user_exam_id: Option<Cow<'a, str>>,
    /// The exam's name, e.g. `"Learning Git"`.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub exam_name: Option<Cow<'a, str>>,
    /// `"true"` / `"false"`.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub certification: Option<Cow<'a, str>>,
    /// A float as a string, e.g. `"1.0"`.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<Cow<'a, str>>,
    /// The attempt's questions and counts.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub sequences: Option<Sequences<'a>>,
}

/// The `sequences` object of an event.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Sequences<'a> {
    /// Sequence id.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Cow<'a, str>>,
    /// Attempt number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<i64>,
    /// Summary counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<Counts>,
    /// The questions, in order.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub questions: Option<Vec<Question<'a>>>,
}

/// `sequences.counts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[allow(missing_docs)]
pub struct Counts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incorrect: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_correct: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correct: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unanswered: Option<i64>,
}

/// One question of an attempt.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[allow(missing_docs)]
pub struct Question<'a> {
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Cow<'a, str>>,
    /// e.g. `"correct"`, `"incorrect"`, `"missed_some"`.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub user_result: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_correct: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_incomplete: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_submitted: Option<bool>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<AnswerOption<'a>>>,
}

/// One option of a question.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[allow(missing_docs)]
pub struct AnswerOption<'a> {
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correct: Option<bool>,
    /// `1` when submitted (an integer in the source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted: Option<i64>,
    /// ISO-8601 time the option was checked.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Cow<'a, str>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const REAL: &str = include_str!("../../testdata/real-first-five.ndjson");

    #[test]
    fn the_real_sample_deserializes() {
        let events: Vec<AssessmentEvent<'_>> = REAL
            .lines()
            .map(|l| serde_json::from_str(l).expect("real event"))
            .collect();
        assert_eq!(events.len(), 5);
        assert_eq!(events[0].keen_id, "5a6745820eb8ab00016be1f1");
        let q0 = &events[0]
            .sequences
            .as_ref()
            .unwrap()
            .questions
            .as_ref()
            .unwrap()[0];
        assert_eq!(q0.user_incomplete, Some(true));
        assert_eq!(q0.options.as_ref().unwrap().len(), 3);
    }
}
