//! What each stored column of the landed tables holds, as far as its encoding cares: the
//! [`ColumnRole`] of a leaf column, defined here once, by column, next to the schemas.
//!
//! This crate knows no Parquet: a writer maps each role to its own encoding settings (the
//! landing engine in `examples` does, into `hdfs_sink::ColumnOptions`). A column without a
//! role keeps the writer's defaults.
//!
//! Paths are Parquet leaf paths computed from the Arrow fields: a struct's child is
//! `parent.child`, a list's element is `list.<element name>` (Arrow names it `item`), so
//! the option id inside `sequences` is `sequences.questions.list.item.options.list.item.id`.
//!
//! ```
//! use assessment_schema::{Table, columns::{ColumnRole, column_roles}};
//!
//! let roles = column_roles(Table::Raw, true);
//! assert!(roles.contains(&("value".to_owned(), ColumnRole::Body)));
//! assert!(roles.contains(&("_offset".to_owned(), ColumnRole::Sequence)));
//! ```

use crate::tables::{Table, landed_schema};
use arrow_schema::{DataType, Field, Fields};

/// What a column holds, for choosing its encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ColumnRole {
    /// A whole message body (`raw.value`, `rejects.value`): kilobytes of JSON, every value
    /// distinct. A dictionary never fits and min/max statistics of JSON bytes mean nothing.
    Body,
    /// A random identifier unique per event: no dictionary can pay off (values never
    /// repeat), ranges of random ids prune nothing, and random hex compresses through entropy
    /// coding, which a fast codec level does as well as a slow one.
    UniqueId,
    /// A random identifier repeated on many rows (a parent key on every child row, an option
    /// id repeated across attempts): the dictionary is what makes it small while it fits;
    /// otherwise as [`ColumnRole::UniqueId`].
    RepeatedId,
    /// A timestamp distinct to the millisecond or microsecond: a dictionary never fits.
    Timestamp,
    /// A small integer that is constant, increasing or cycling (the provenance
    /// `_partition`/`_offset`, child row indexes): delta encoding beats a dictionary, with no
    /// hashing per row.
    Sequence,
}

/// The columns with a role, per table, as Arrow field names from the top-level column to the
/// leaf (list elements are stepped through without naming them). The provenance columns
/// `_partition` and `_offset` of every table are [`ColumnRole::Sequence`] as well.
const ROLES: &[(Table, &[&str], ColumnRole)] = &[
    (Table::Raw, &["value"], ColumnRole::Body),
    (Table::Rejects, &["value"], ColumnRole::Body),
    (Table::Raw, &["key"], ColumnRole::UniqueId),
    (Table::Assessments, &["keen_id"], ColumnRole::UniqueId),
    (Table::Assessments, &["user_exam_id"], ColumnRole::UniqueId),
    (
        Table::Assessments,
        &["sequences", "questions", "options", "id"],
        ColumnRole::RepeatedId,
    ),
    (Table::Questions, &["keen_id"], ColumnRole::RepeatedId),
    (Table::Questions, &["user_exam_id"], ColumnRole::RepeatedId),
    (Table::Options, &["keen_id"], ColumnRole::RepeatedId),
    (Table::Options, &["question_id"], ColumnRole::RepeatedId),
    (Table::Options, &["option_id"], ColumnRole::RepeatedId),
    (
        Table::Assessments,
        &["keen_timestamp"],
        ColumnRole::Timestamp,
    ),
    (
        Table::Assessments,
        &["keen_created_at"],
        ColumnRole::Timestamp,
    ),
    (Table::Assessments, &["started_at"], ColumnRole::Timestamp),
    (
        Table::Assessments,
        &["sequences", "questions", "options", "at"],
        ColumnRole::Timestamp,
    ),
    (Table::Options, &["at"], ColumnRole::Timestamp),
    (Table::Questions, &["question_index"], ColumnRole::Sequence),
    (Table::Options, &["question_index"], ColumnRole::Sequence),
    (Table::Options, &["option_index"], ColumnRole::Sequence),
];

/// Provenance columns every table has, with their role.
const PROVENANCE_ROLES: [(&str, ColumnRole); 2] = [
    ("_partition", ColumnRole::Sequence),
    ("_offset", ColumnRole::Sequence),
];

/// The leaf columns of `table` with a role, as Parquet leaf paths, in the table as landed
/// with or without the nested `sequences` column of `assessments` (see
/// [`landed_schema`]): the leaves of `sequences` are listed only when it is landed.
pub fn column_roles(table: Table, nested_sequences: bool) -> Vec<(String, ColumnRole)> {
    let schema = landed_schema(table, nested_sequences);
    let provenance = PROVENANCE_ROLES
        .iter()
        .map(|(name, role)| ([*name].to_vec(), *role));
    let listed = ROLES
        .iter()
        .filter(|(t, _, _)| *t == table)
        .map(|(_, names, role)| (names.to_vec(), *role));
    provenance
        .chain(listed)
        .filter_map(|(names, role)| Some((parquet_leaf_path(schema.fields(), &names)?, role)))
        .collect()
}

/// The Parquet leaf path of the column reached through `names` (one Arrow field name per
/// struct level, list elements stepped through), or `None` if `fields` has no such leaf.
pub fn parquet_leaf_path(fields: &Fields, names: &[&str]) -> Option<String> {
    let (first, rest) = names.split_first()?;
    let (_, field) = fields.find(first)?;
    let mut path = vec![field.name().clone()];
    let mut field: &Field = field;
    let mut rest = rest;
    loop {
        match field.data_type() {
            DataType::List(element) | DataType::LargeList(element) => {
                path.push("list".to_owned());
                path.push(element.name().clone());
                field = element;
            }
            DataType::Struct(children) => {
                let (next, tail) = rest.split_first()?;
                let (_, child) = children.find(next)?;
                path.push(child.name().clone());
                field = child;
                rest = tail;
            }
            _ if rest.is_empty() => return Some(path.join(".")),
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_column_is_a_leaf_of_its_nested_table() {
        for (table, names, role) in ROLES {
            let schema = landed_schema(*table, true);
            let path = parquet_leaf_path(schema.fields(), names);
            assert!(path.is_some(), "{table}: {names:?} is not a leaf");
            assert!(
                column_roles(*table, true).contains(&(path.unwrap(), *role)),
                "{table}: {names:?}"
            );
        }
        for table in Table::ALL {
            for (name, role) in PROVENANCE_ROLES {
                assert!(column_roles(table, false).contains(&(name.to_owned(), role)));
            }
        }
    }

    #[test]
    fn nested_paths_step_through_list_elements_named_as_arrow_names_them() {
        let roles = column_roles(Table::Assessments, true);
        for (path, role) in [
            (
                "sequences.questions.list.item.options.list.item.id",
                ColumnRole::RepeatedId,
            ),
            (
                "sequences.questions.list.item.options.list.item.at",
                ColumnRole::Timestamp,
            ),
        ] {
            assert!(
                roles.contains(&(path.to_owned(), role)),
                "{path}: {roles:?}"
            );
            // Every step of the path is a field of the Arrow schema: the list element
            // fields are named `item`.
            let schema = landed_schema(Table::Assessments, true);
            let mut fields = schema.fields().clone();
            let mut steps = path.split('.').peekable();
            while let Some(step) = steps.next() {
                let (_, field) = fields.find(step).expect(step);
                match field.data_type() {
                    DataType::List(element) => {
                        assert_eq!(steps.next(), Some("list"));
                        assert_eq!(steps.next(), Some(element.name().as_str()));
                        let DataType::Struct(children) = element.data_type() else {
                            panic!("{step}: a list of non-structs")
                        };
                        fields = children.clone();
                    }
                    DataType::Struct(children) => fields = children.clone(),
                    _ => assert!(steps.peek().is_none(), "{path}: {step} is a leaf"),
                }
            }
        }
    }

    #[test]
    fn flat_assessments_lists_no_leaf_of_sequences() {
        let flat = column_roles(Table::Assessments, false);
        assert!(flat.iter().all(|(p, _)| !p.starts_with("sequences.")));
        assert_eq!(flat.len() + 2, column_roles(Table::Assessments, true).len());
    }

    #[test]
    fn a_path_that_is_not_a_leaf_is_none() {
        let schema = landed_schema(Table::Assessments, true);
        assert_eq!(parquet_leaf_path(schema.fields(), &["sequences"]), None);
        assert_eq!(parquet_leaf_path(schema.fields(), &["nope"]), None);
        assert_eq!(parquet_leaf_path(schema.fields(), &["keen_id", "x"]), None);
    }
}
