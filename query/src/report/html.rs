//! HTML building blocks of the report: escaping, number formats, tables, the page.
//!
//! The page is one self-contained file: its style is inline, its charts are inline SVG and
//! it names no URL to fetch (no script, stylesheet, image or font from elsewhere), so it
//! shows the same offline, attached to a mail, or years later.

use std::fmt::Write as _;

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An integer with thousands separators: `3280` → `3,280`.
pub(crate) fn int(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A number with one decimal (the SQL rounds shares and minutes to one), `–` for none.
pub(crate) fn dec1(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_owned(), |x| format!("{x:.1}"))
}

/// An RFC 3339 time as `YYYY-MM-DD HH:MM:SS` (UTC; fractions of a second dropped), `–` for
/// none.
pub(crate) fn time(rfc3339: Option<&str>) -> String {
    match rfc3339 {
        None => "–".to_owned(),
        Some(t) => {
            let seconds = t.get(..19).unwrap_or(t);
            seconds.replacen('T', " ", 1)
        }
    }
}

/// How a column's cells are aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    /// Numbers: right-aligned, tabular figures.
    Right,
}

/// A table of the numbers behind a chart (cells are plain text, escaped when rendered).
#[derive(Debug, Clone)]
pub(crate) struct Table {
    pub(crate) id: &'static str,
    pub(crate) columns: Vec<(&'static str, Align)>,
    pub(crate) rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(id: &'static str, columns: &[(&'static str, Align)]) -> Self {
        Table {
            id,
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table inside a scroll box (long tables stay one screen tall).
    pub(crate) fn to_html(&self) -> String {
        let mut out = format!(
            "<div class=\"numbers\"><table id=\"{}\">\n<thead><tr>",
            self.id
        );
        for (name, align) in &self.columns {
            let _ = write!(out, "<th{}>{}</th>", class(*align), escape(name));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for row in &self.rows {
            out.push_str("<tr>");
            for (cell, (_, align)) in row.iter().zip(&self.columns) {
                let _ = write!(out, "<td{}>{}</td>", class(*align), escape(cell));
            }
            out.push_str("</tr>\n");
        }
        if self.rows.is_empty() {
            let _ = writeln!(
                out,
                "<tr><td colspan=\"{}\" class=\"empty\">no rows</td></tr>",
                self.columns.len()
            );
        }
        out.push_str("</tbody></table></div>\n");
        out
    }
}

fn class(align: Align) -> &'static str {
    match align {
        Align::Left => "",
        Align::Right => " class=\"num\"",
    }
}

/// A card of the page: a heading, a note (HTML), the chart (none if empty) and its table.
pub(crate) fn card(
    title: &str,
    note_html: &str,
    chart_svg: &str,
    table: &Table,
    wide: bool,
) -> String {
    let figure = if chart_svg.is_empty() {
        String::new()
    } else {
        format!("<figure>{chart_svg}</figure>\n")
    };
    format!(
        "<section class=\"card{}\" id=\"section-{}\">\n<h2>{}</h2>\n<p class=\"note\">{}</p>\n\
         {figure}{}</section>\n",
        if wide { " wide" } else { "" },
        table.id,
        escape(title),
        note_html,
        table.to_html()
    )
}

const STYLE: &str = "\
body{margin:0;background:#f4f5f7;color:#222;font:14px/1.4 'DejaVu Sans',Arial,sans-serif}
header{background:#1f3b57;color:#fff;padding:18px 32px}
header h1{margin:0 0 4px;font-size:24px}
header p{margin:2px 0;color:#d6e2ee}
main{padding:16px 32px 32px;display:grid;grid-template-columns:1fr 1fr;gap:16px}
.card{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:12px 16px;min-width:0}
.wide{grid-column:1/-1}
h2{font-size:17px;margin:0 0 4px}
.note{color:#555;margin:0 0 8px;font-size:13px}
figure{margin:0}
svg{display:block;width:100%;height:auto}
.numbers{max-height:240px;overflow:auto;margin-top:8px;border-top:1px solid #eee}
table{border-collapse:collapse;width:100%;font-size:12.5px}
th,td{padding:2px 8px;border-bottom:1px solid #eee;text-align:left}
th{position:sticky;top:0;background:#f7f8fa}
.num{text-align:right;font-variant-numeric:tabular-nums}
.empty{color:#888;font-style:italic}
.totals{display:flex;flex-wrap:wrap;gap:10px;margin:0;padding:0;list-style:none}
.totals li{background:#f7f8fa;border-radius:4px;padding:6px 12px}
.totals b{display:block;font-size:20px}
";

/// The whole page: the header's lines (HTML) and the sections, in order.
pub(crate) fn page(title: &str, header_lines: &[String], sections: &[String]) -> String {
    let mut out = String::with_capacity(sections.iter().map(String::len).sum::<usize>() + 4096);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n<header>\n<h1>{}</h1>\n",
        escape(title),
        escape(title)
    );
    for line in header_lines {
        let _ = writeln!(out, "<p>{line}</p>");
    }
    out.push_str("</header>\n<main>\n");
    for s in sections {
        out.push_str(s);
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(int(0), "0");
        assert_eq!(int(999), "999");
        assert_eq!(int(3280), "3,280");
        assert_eq!(int(-1234567), "-1,234,567");
        assert_eq!(dec1(Some(12.25)), "12.2");
        assert_eq!(dec1(None), "–");
        assert_eq!(
            time(Some("2018-01-23T14:24:02.735266Z")),
            "2018-01-23 14:24:02"
        );
        assert_eq!(time(None), "–");
        assert_eq!(escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
    }

    #[test]
    fn tables_escape_cells_and_say_when_empty() {
        let mut t = Table::new("t", &[("name", Align::Left), ("n", Align::Right)]);
        assert!(t.to_html().contains("no rows"));
        t.row(vec!["<x>".into(), int(1000)]);
        let html = t.to_html();
        assert!(html.contains("<table id=\"t\">"));
        assert!(
            html.contains("<td>&lt;x&gt;</td><td class=\"num\">1,000</td>"),
            "{html}"
        );
        assert!(!html.contains("no rows"));
    }

    #[test]
    fn the_page_is_self_contained() {
        let html = page("R & D", &["line".into()], &["<section>s</section>".into()]);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<title>R &amp; D</title>"));
        for external in ["<link", "<script", "src=", "url(", "@import", "http"] {
            assert!(!html.contains(external), "{external}");
        }
    }
}
