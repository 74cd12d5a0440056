//! The report's data-health sections, for an operator: why messages were rejected, how
//! many events landed per day, and how fresh each Kafka partition's data is.

use super::chart::{BarChart, Orientation};
use super::data::ReportData;
use super::html::{Align, Table, card, dec1, escape, int, time};
use crate::Result;

/// Rejected messages by error kind.
pub(crate) fn rejects(data: &ReportData) -> Result<String> {
    let title = "Rejects by error kind";
    let mut chart = BarChart::new(title, "error kind", "rejected messages").bars(
        data.rejects
            .iter()
            .map(|c| (c.label.clone(), c.count as f64)),
    );
    chart.orientation = Orientation::Horizontal;
    chart.label_room = 130;
    let mut table = Table::new(
        "rejects-by-kind",
        &[("error kind", Align::Left), ("rejects", Align::Right)],
    );
    for c in &data.rejects {
        table.row(vec![c.label.clone(), int(c.count)]);
    }
    let note = if data.rejects.is_empty() {
        "No message was rejected.".to_owned()
    } else {
        "Messages that did not become events; each is in <code>rejects</code> with its \
         coordinates, bytes and the JSON path of the problem."
            .to_owned()
    };
    Ok(card(title, &note, &chart.to_svg()?, &table, false))
}

/// Events per UTC day of event time.
pub(crate) fn per_day(data: &ReportData) -> Result<String> {
    let title = "Events landed per day";
    let chart = BarChart::new(title, "day of keen_timestamp (UTC)", "events").bars(
        data.per_day
            .iter()
            .map(|c| (c.label.clone(), c.count as f64)),
    );
    let mut table = Table::new(
        "events-per-day",
        &[("day", Align::Left), ("events", Align::Right)],
    );
    for c in &data.per_day {
        table.row(vec![c.label.clone(), int(c.count)]);
    }
    let note = format!(
        "{} days with events. A day with fewer events than its neighbours may not have \
         landed completely yet.",
        int(data.per_day.len() as i64)
    );
    Ok(card(title, &note, &chart.to_svg()?, &table, false))
}

/// The newest landed event per Kafka partition, and how far behind the newest it is.
pub(crate) fn freshness(data: &ReportData) -> Result<String> {
    let title = "Freshness per partition";
    let mut table = Table::new(
        "freshness",
        &[
            ("topic", Align::Left),
            ("partition", Align::Right),
            ("events", Align::Right),
            ("last offset", Align::Right),
            ("newest event (UTC)", Align::Left),
            ("behind newest, min", Align::Right),
        ],
    );
    for p in &data.partitions {
        table.row(vec![
            p.topic.clone(),
            p.partition.to_string(),
            int(p.events),
            int(p.last_offset),
            time(p.newest_event.as_deref()),
            dec1(p.behind_minutes),
        ]);
    }
    let laggard = data
        .partitions
        .iter()
        .filter(|p| p.behind_minutes.is_some())
        .max_by(|a, b| {
            a.behind_minutes
                .partial_cmp(&b.behind_minutes)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    let note = match laggard {
        Some(p) if data.partitions.len() > 1 => format!(
            "{} partitions. The furthest behind is <b>{} / {}</b>, {} minutes behind the newest \
             event of all.",
            int(data.partitions.len() as i64),
            escape(&p.topic),
            p.partition,
            dec1(p.behind_minutes)
        ),
        _ => "The newest landed event time (<code>keen_timestamp</code>) of each Kafka \
              partition."
            .to_owned(),
    };
    Ok(card(title, &note, "", &table, true))
}
