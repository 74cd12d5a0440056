//! The Parquet settings of the landed tables: each column's [`ColumnRole`] (defined by
//! column in `assessment-schema`) mapped to `hdfs-sink` column options, here and only here.

use assessment_schema::columns::{ColumnRole, column_roles};
use assessment_schema::tables::Table;
use hdfs_sink::{ColumnOptions, Compression, Encoding, SinkConfig, SinkConfigBuilder, Statistics};

/// The encoding of a column of `role`, over the sink's defaults (zstd(3), dictionaries, page
/// statistics).
pub fn column_options(role: ColumnRole) -> ColumnOptions {
    match role {
        // Kilobytes of distinct JSON per value: the fast codec level saves most of the
        // encoding cost for few more bytes, a dictionary attempt never pays off, and min/max
        // statistics of JSON bytes mean nothing.
        // Identifiers unique per event: parquet would intern values until the dictionary
        // page overflows, then fall back to plain; random hex compresses through entropy
        // coding, which level 1 does as well as level 3; ranges of random ids prune nothing.
        ColumnRole::Body | ColumnRole::UniqueId => ColumnOptions {
            compression: Some(Compression::Zstd(1)),
            dictionary: Some(false),
            statistics: Some(Statistics::None),
            ..ColumnOptions::default()
        },
        // Repeated identifiers: the dictionary is what makes them small while it fits.
        ColumnRole::RepeatedId => ColumnOptions {
            compression: Some(Compression::Zstd(1)),
            statistics: Some(Statistics::None),
            ..ColumnOptions::default()
        },
        ColumnRole::Timestamp => ColumnOptions {
            dictionary: Some(false),
            ..ColumnOptions::default()
        },
        // Constant, increasing or small cycling integers: delta-encoded, no hashing per row,
        // and fewer bytes than a dictionary.
        ColumnRole::Sequence => ColumnOptions {
            dictionary: Some(false),
            encoding: Some(Encoding::DeltaBinaryPacked),
            ..ColumnOptions::default()
        },
    }
}

/// The sink settings for the event tables: the defaults with the options of every column
/// that has a role ([`column_options`]). `nested_sequences`: whether `assessments` is
/// landed with its nested `sequences` column (the options of its leaves apply only then).
pub fn sink_config_builder(nested_sequences: bool) -> SinkConfigBuilder {
    let mut b = SinkConfig::builder();
    for table in Table::ALL {
        for (column, role) in column_roles(table, nested_sequences) {
            b = b.with_column_options(table.name(), column, column_options(role));
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-column settings as they were listed by dotted path before the roles moved
    /// into `assessment-schema`: the roles must reproduce them exactly.
    fn listed_by_path(nested_sequences: bool) -> SinkConfigBuilder {
        const OPTION_ID: &str = "sequences.questions.list.item.options.list.item.id";
        const OPTION_AT: &str = "sequences.questions.list.item.options.list.item.at";
        let body = ColumnOptions {
            compression: Some(Compression::Zstd(1)),
            dictionary: Some(false),
            statistics: Some(Statistics::None),
            ..ColumnOptions::default()
        };
        let unique_id = body;
        let repeated_id = ColumnOptions {
            compression: Some(Compression::Zstd(1)),
            statistics: Some(Statistics::None),
            ..ColumnOptions::default()
        };
        let timestamp = ColumnOptions {
            dictionary: Some(false),
            ..ColumnOptions::default()
        };
        let sequence = ColumnOptions {
            dictionary: Some(false),
            encoding: Some(Encoding::DeltaBinaryPacked),
            ..ColumnOptions::default()
        };
        let mut b = SinkConfig::builder()
            .with_column_options(Table::Raw.name(), "value", body)
            .with_column_options(Table::Rejects.name(), "value", body);
        for (table, column, options) in [
            (Table::Raw, "key", unique_id),
            (Table::Assessments, "keen_id", unique_id),
            (Table::Assessments, "user_exam_id", unique_id),
            (Table::Assessments, OPTION_ID, repeated_id),
            (Table::Questions, "keen_id", repeated_id),
            (Table::Questions, "user_exam_id", repeated_id),
            (Table::Options, "keen_id", repeated_id),
            (Table::Options, "question_id", repeated_id),
            (Table::Options, "option_id", repeated_id),
            (Table::Assessments, "keen_timestamp", timestamp),
            (Table::Assessments, "keen_created_at", timestamp),
            (Table::Assessments, "started_at", timestamp),
            (Table::Assessments, OPTION_AT, timestamp),
            (Table::Options, "at", timestamp),
        ] {
            if nested_sequences || !column.starts_with("sequences.") {
                b = b.with_column_options(table.name(), column, options);
            }
        }
        for table in Table::ALL {
            for column in ["_partition", "_offset"] {
                b = b.with_column_options(table.name(), column, sequence);
            }
        }
        for (table, column) in [
            (Table::Questions, "question_index"),
            (Table::Options, "question_index"),
            (Table::Options, "option_index"),
        ] {
            b = b.with_column_options(table.name(), column, sequence);
        }
        b
    }

    #[test]
    fn the_roles_give_the_settings_listed_by_path() {
        for nested in [true, false] {
            let by_role = sink_config_builder(nested).build().unwrap();
            let by_path = listed_by_path(nested).build().unwrap();
            assert_eq!(by_role, by_path, "nested_sequences = {nested}");
        }
    }
}
