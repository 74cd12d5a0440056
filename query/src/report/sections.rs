//! The report's sections about the assessments: totals, exam popularity, score
//! distribution, question difficulty and time to complete. Each is a card with a chart
//! and the table of its numbers, as the SQL returned them.

use super::chart::{BarChart, Orientation};
use super::data::{Bin, ReportData};
use super::html::{Align, Table, card, dec1, escape, int};
use crate::Result;

/// Exam names longer than this are cut in chart labels (the table has them whole).
const LABEL_CHARS: usize = 46;
/// Most questions drawn in the difficulty chart (the hardest; the table has them all).
const QUESTION_BARS: usize = 30;
/// A name for a null exam name.
const NO_NAME: &str = "(no exam name)";

/// `name`, cut to `max` characters with an ellipsis.
pub(crate) fn short(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        name.to_owned()
    } else {
        let cut: String = name.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// Totals and date range: a row of big numbers.
pub(crate) fn totals(data: &ReportData) -> String {
    let t = &data.totals;
    let items = [
        ("attempts", "attempts", t.attempts),
        ("user-exams", "users' exams", t.user_exams),
        ("exams", "exams", t.exams),
        ("questions", "questions answered", t.questions),
        ("options", "options", t.options),
        ("rejects", "rejected messages", t.rejects),
    ];
    let mut list = String::from("<ul class=\"totals\">\n");
    for (id, label, n) in items {
        list.push_str(&format!(
            "<li id=\"total-{id}\"><b>{}</b>{}</li>\n",
            int(n),
            escape(label)
        ));
    }
    list.push_str("</ul>\n");
    format!(
        "<section class=\"card wide\" id=\"section-totals\">\n<h2>Totals</h2>\n\
         <p class=\"note\">Attempts are valid events (rows of <code>assessments</code>); users' \
         exams are distinct <code>user_exam_id</code>s; questions and options are the rows of \
         those tables; rejected messages did not become events. Events from \
         <span id=\"first-event\">{}</span> to <span id=\"last-event\">{}</span> UTC \
         (<code>keen_timestamp</code>).</p>\n{list}</section>\n",
        super::html::time(t.first_event.as_deref()),
        super::html::time(t.last_event.as_deref()),
    )
}

/// The top 20 exams by attempts, the chosen one highlighted, the tail summarized.
pub(crate) fn popularity(data: &ReportData) -> Result<String> {
    let name = |e: &Option<String>| e.clone().unwrap_or_else(|| NO_NAME.to_owned());
    let mut chart = BarChart::new(
        format!("Top {} exams by attempts", data.top_exams.len()),
        "exam",
        "attempts (events)",
    )
    .bars(
        data.top_exams
            .iter()
            .map(|e| (short(&name(&e.exam), LABEL_CHARS), e.attempts as f64)),
    );
    chart.orientation = Orientation::Horizontal;
    chart.size = (1100, 120 + 22 * data.top_exams.len().max(1) as u32);
    chart.label_room = 330;
    chart.highlight = data.top_exams.iter().position(|e| e.exam == data.exam);

    let mut table = Table::new(
        "exam-popularity",
        &[
            ("rank", Align::Right),
            ("exam", Align::Left),
            ("attempts", Align::Right),
            ("share of all %", Align::Right),
        ],
    );
    for e in &data.top_exams {
        table.row(vec![
            e.rank.to_string(),
            name(&e.exam),
            int(e.attempts),
            dec1(Some(e.share_pct)),
        ]);
    }
    let tail = &data.tail;
    let note = if tail.exams > 0 {
        let first = data.top_exams.len() + 1;
        table.row(vec![
            format!("{first}–{}", first as i64 + tail.exams - 1),
            format!("the other {} exams", int(tail.exams)),
            int(tail.attempts),
            "–".into(),
        ]);
        format!(
            "The long tail: <b>{}</b> more exams with <b>{}</b> attempts together, {}–{} each.",
            int(tail.exams),
            int(tail.attempts),
            int(tail.min_attempts.unwrap_or_default()),
            int(tail.max_attempts.unwrap_or_default()),
        )
    } else {
        "Every exam is in the chart.".to_owned()
    };
    let note = format!("{note} The chosen exam is drawn in orange.");
    Ok(card(
        "Exam popularity",
        &note,
        &chart.to_svg()?,
        &table,
        true,
    ))
}

/// Bins `from..=to` with the counts of `bins` (missing bins count 0).
fn dense(bins: &[Bin], from: i64, to: i64, step: i64) -> Vec<Bin> {
    (from..=to)
        .step_by(step.max(1) as usize)
        .map(|b| Bin {
            from: b,
            count: bins.iter().filter(|x| x.from == b).map(|x| x.count).sum(),
        })
        .collect()
}

/// A score histogram (11 buckets of 10 points, 100 = all correct).
pub(crate) fn scores(id: &'static str, title: &str, bins: &[Bin]) -> Result<String> {
    let bins = dense(bins, 0, 100, 10);
    let chart = BarChart::new(
        title,
        "score: correct / total questions (%, bins of 10; 100 = all correct)",
        "attempts",
    )
    .bars(bins.iter().map(|b| (b.from.to_string(), b.count as f64)));
    let mut table = Table::new(
        id,
        &[("score from %", Align::Right), ("attempts", Align::Right)],
    );
    for b in &bins {
        table.row(vec![b.from.to_string(), int(b.count)]);
    }
    let attempts: i64 = bins.iter().map(|b| b.count).sum();
    let note = format!(
        "{} attempts with a score. Bin 0 is 0–9.99%, 10 is 10–19.99%, …, 100 is exactly 100%.",
        int(attempts)
    );
    Ok(card(title, &note, &chart.to_svg()?, &table, false))
}

/// The share of attempts answering each question of the chosen exam correctly.
pub(crate) fn difficulty(data: &ReportData) -> Result<String> {
    let exam = data.exam.as_deref().unwrap_or(NO_NAME);
    let title = format!("Question difficulty: {}", short(exam, 40));
    let label = |id: &Option<String>, attempts: i64| {
        format!(
            "{} (n={})",
            short(id.as_deref().unwrap_or("?"), 13),
            int(attempts)
        )
    };
    let mut chart = BarChart::new(
        &title,
        "question (id, attempts), hardest first",
        "answered correctly (% of attempts)",
    )
    .bars(
        data.questions
            .iter()
            .take(QUESTION_BARS)
            .map(|q| (label(&q.question_id, q.attempts), q.correct_pct)),
    );
    chart.value_max = Some(100.0);
    // Question ids are long: one row each, the label beside its bar.
    chart.orientation = Orientation::Horizontal;
    chart.label_room = 150;
    chart.size = (
        540,
        80 + 26 * data.questions.len().clamp(4, QUESTION_BARS) as u32,
    );
    let mut table = Table::new(
        "question-difficulty",
        &[
            ("question id", Align::Left),
            ("attempts", Align::Right),
            ("correct", Align::Right),
            ("correct %", Align::Right),
        ],
    );
    for q in &data.questions {
        table.row(vec![
            q.question_id.clone().unwrap_or_default(),
            int(q.attempts),
            int(q.correct),
            dec1(Some(q.correct_pct)),
        ]);
    }
    let shown = if data.questions.len() > QUESTION_BARS {
        format!(
            " The chart shows the {QUESTION_BARS} hardest of {} questions; the table lists all.",
            int(data.questions.len() as i64)
        )
    } else {
        String::new()
    };
    let note = format!(
        "Per question of <b>{}</b>: the share of attempts whose <code>user_result</code> is \
         'correct'; n is the number of attempts behind each bar.{shown}",
        escape(exam)
    );
    Ok(card(&title, &note, &chart.to_svg()?, &table, false))
}

/// Minutes from start to submission, 1-minute bins clipped at an hour.
pub(crate) fn time_to_complete(data: &ReportData) -> Result<String> {
    let last = data
        .minutes
        .iter()
        .map(|b| b.from)
        .max()
        .unwrap_or(0)
        .clamp(0, 60);
    let bins = dense(&data.minutes, 0, last, 1);
    let label = |m: i64| {
        if m >= 60 {
            "60+".to_owned()
        } else {
            m.to_string()
        }
    };
    let title = "Time to complete";
    let chart = BarChart::new(
        title,
        "minutes from start to submission (1-minute bins, clipped: 60+ = an hour or more)",
        "attempts",
    )
    .bars(bins.iter().map(|b| (label(b.from), b.count as f64)));
    let mut table = Table::new(
        "time-to-complete",
        &[("from minute", Align::Right), ("attempts", Align::Right)],
    );
    for b in &bins {
        table.row(vec![label(b.from), int(b.count)]);
    }
    let d = &data.durations;
    let note = format!(
        "{} attempts: median <b>{}</b> min, 90th percentile {} min, longest {} min; {} took an \
         hour or more. Bin m counts attempts of m to m+1 minutes.",
        int(d.attempts),
        dec1(d.median_minutes),
        dec1(d.p90_minutes),
        dec1(d.max_minutes),
        int(d.hour_or_more)
    );
    Ok(card(title, &note, &chart.to_svg()?, &table, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_bins_fill_the_gaps_with_zero() {
        let bins = [Bin { from: 10, count: 4 }, Bin { from: 30, count: 2 }];
        let d = dense(&bins, 0, 40, 10);
        let counts: Vec<i64> = d.iter().map(|b| b.count).collect();
        assert_eq!(counts, [0, 4, 0, 2, 0]);
        assert_eq!(d.last().map(|b| b.from), Some(40));
    }

    #[test]
    fn long_names_are_cut() {
        assert_eq!(short("Learning Git", 46), "Learning Git");
        assert_eq!(short("abcdef", 4), "abc…");
        assert_eq!(short("ééééé", 3).chars().count(), 3);
    }
}
