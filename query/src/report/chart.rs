//! Bar charts as inline SVG, drawn with `plotters`' SVG backend.
//!
//! Every chart of the report is a bar chart over categories (exams, score buckets, minutes,
//! questions, days, error kinds): vertical bars for ordered bins, horizontal bars for long
//! names. A chart always has a title and both axes described with their units; the text is
//! drawn by the browser (SVG `<text>`, a local sans-serif font), so the page needs no font
//! file and no network.

use plotters::coord::Shift;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use crate::{Error, Result};

/// The bars' colour.
pub(crate) const BAR: RGBColor = RGBColor(0x4e, 0x79, 0xa7);
/// The colour of a highlighted bar (the chosen exam).
pub(crate) const HIGHLIGHT: RGBColor = RGBColor(0xf2, 0x8e, 0x2b);
const AXIS_TEXT: RGBColor = RGBColor(0x33, 0x33, 0x33);
const FONT: &str = "sans-serif";

/// Which way the bars go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Orientation {
    /// Categories along x, values up (bins in order).
    Vertical,
    /// Categories down y, first on top, values to the right (long names).
    Horizontal,
}

/// A bar chart: one bar per category.
#[derive(Debug, Clone)]
pub(crate) struct BarChart {
    pub(crate) title: String,
    /// Description of the category axis, with its unit.
    pub(crate) category_axis: String,
    /// Description of the value axis, with its unit.
    pub(crate) value_axis: String,
    pub(crate) labels: Vec<String>,
    pub(crate) values: Vec<f64>,
    /// Bars drawn in [`HIGHLIGHT`].
    pub(crate) highlight: Option<usize>,
    pub(crate) orientation: Orientation,
    /// Upper end of the value axis (`None`: a little above the largest value).
    pub(crate) value_max: Option<f64>,
    /// Width and height in pixels.
    pub(crate) size: (u32, u32),
    /// Room for the category labels, pixels (width for horizontal bars).
    pub(crate) label_room: u32,
}

impl BarChart {
    /// A chart with the report's defaults: 540×300, vertical, 40 px for labels.
    pub(crate) fn new(title: impl Into<String>, category_axis: &str, value_axis: &str) -> Self {
        BarChart {
            title: title.into(),
            category_axis: category_axis.to_owned(),
            value_axis: value_axis.to_owned(),
            labels: Vec::new(),
            values: Vec::new(),
            highlight: None,
            orientation: Orientation::Vertical,
            value_max: None,
            size: (540, 300),
            label_room: 40,
        }
    }

    /// Sets the bars.
    pub(crate) fn bars(mut self, bars: impl IntoIterator<Item = (String, f64)>) -> Self {
        (self.labels, self.values) = bars.into_iter().unzip();
        self
    }

    /// Draws the chart as one `<svg>` element.
    ///
    /// # Errors
    ///
    /// [`Error::Chart`] naming the chart if the plotting library fails.
    pub(crate) fn to_svg(&self) -> Result<String> {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, self.size).into_drawing_area();
            self.draw(&root).map_err(|reason| Error::Chart {
                chart: self.title.clone(),
                reason,
            })?;
        }
        Ok(svg)
    }

    fn draw(&self, root: &DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), String> {
        let err = |e: DrawingAreaErrorKind<_>| e.to_string();
        root.fill(&WHITE).map_err(err)?;
        // One category at least, so that an empty chart still has axes.
        let last = self.labels.len().max(1) - 1;
        let top = self.value_max.unwrap_or_else(|| nice_max(&self.values));
        let mut builder = ChartBuilder::on(root);
        builder
            .caption(&self.title, (FONT, 17).into_font().color(&AXIS_TEXT))
            .margin(12);
        match self.orientation {
            Orientation::Vertical => {
                let mut chart = builder
                    .x_label_area_size(self.label_room)
                    .y_label_area_size(62)
                    .build_cartesian_2d((0..last).into_segmented(), 0.0..top)
                    .map_err(err)?;
                let category = |v: &SegmentValue<usize>| self.label_at(v);
                chart
                    .configure_mesh()
                    .disable_x_mesh()
                    .x_labels(self.labels.len().clamp(1, 16))
                    .x_label_formatter(&category)
                    .y_label_formatter(&|v| axis_number(*v))
                    .x_desc(self.category_axis.as_str())
                    .y_desc(self.value_axis.as_str())
                    .label_style((FONT, 12).into_font().color(&AXIS_TEXT))
                    .axis_desc_style((FONT, 13).into_font().color(&AXIS_TEXT))
                    .draw()
                    .map_err(err)?;
                chart
                    .draw_series(self.values.iter().enumerate().map(|(i, v)| {
                        let bar = [(SegmentValue::Exact(i), 0.0), (end_of(i, last), *v)];
                        let mut r = Rectangle::new(bar, self.color(i).filled());
                        r.set_margin(0, 0, 2, 2);
                        r
                    }))
                    .map_err(err)?;
            }
            Orientation::Horizontal => {
                let mut chart = builder
                    .x_label_area_size(44)
                    .y_label_area_size(self.label_room)
                    .build_cartesian_2d(0.0..top, (0..last).into_segmented())
                    .map_err(err)?;
                // Category i is drawn at row last - i: the first category on top.
                let category = |v: &SegmentValue<usize>| self.label_at(&flip(v, last));
                chart
                    .configure_mesh()
                    .disable_y_mesh()
                    .y_labels(self.labels.len().max(1))
                    .y_label_formatter(&category)
                    .x_label_formatter(&|v| axis_number(*v))
                    .x_desc(self.value_axis.as_str())
                    .y_desc(self.category_axis.as_str())
                    .label_style((FONT, 12).into_font().color(&AXIS_TEXT))
                    .axis_desc_style((FONT, 13).into_font().color(&AXIS_TEXT))
                    .draw()
                    .map_err(err)?;
                chart
                    .draw_series(self.values.iter().enumerate().map(|(i, v)| {
                        let row = last - i;
                        let bar = [(0.0, SegmentValue::Exact(row)), (*v, end_of(row, last))];
                        let mut r = Rectangle::new(bar, self.color(i).filled());
                        r.set_margin(2, 2, 0, 0);
                        r
                    }))
                    .map_err(err)?;
            }
        }
        root.present().map_err(err)
    }

    fn color(&self, i: usize) -> RGBColor {
        if self.highlight == Some(i) {
            HIGHLIGHT
        } else {
            BAR
        }
    }

    fn label_at(&self, v: &SegmentValue<usize>) -> String {
        match v {
            SegmentValue::Exact(i) | SegmentValue::CenterOf(i) => {
                self.labels.get(*i).cloned().unwrap_or_default()
            }
            SegmentValue::Last => String::new(),
        }
    }
}

/// The category drawn at row `v` of a horizontal chart (row `last - i` shows category `i`);
/// the axis' end has no category and no label.
fn flip(v: &SegmentValue<usize>, last: usize) -> SegmentValue<usize> {
    match v {
        SegmentValue::Exact(i) if *i <= last => SegmentValue::Exact(last - i),
        SegmentValue::CenterOf(i) if *i <= last => SegmentValue::CenterOf(last - i),
        _ => SegmentValue::Last,
    }
}

/// The far edge of segment `i` of an axis of segments `0..=last`: the next one's start, or
/// the axis' end for the last (the axis has exactly one segment per category, no empty one
/// at the end).
fn end_of(i: usize, last: usize) -> SegmentValue<usize> {
    if i >= last {
        SegmentValue::Last
    } else {
        SegmentValue::Exact(i + 1)
    }
}

/// The value axis' upper end: 10% above the largest value (1 when all are 0 or none).
fn nice_max(values: &[f64]) -> f64 {
    let max = values.iter().copied().fold(0.0, f64::max);
    if max > 0.0 { max * 1.1 } else { 1.0 }
}

/// An axis tick: integers without decimals, with thousands separators; others with one
/// decimal.
fn axis_number(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        super::html::int(v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(orientation: Orientation, bars: &[(&str, f64)]) -> String {
        let mut c = BarChart::new("Title <&>", "category (unit)", "value (unit)")
            .bars(bars.iter().map(|(l, v)| ((*l).to_owned(), *v)));
        c.orientation = orientation;
        c.highlight = Some(0);
        c.to_svg().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_chart_has_its_title_axes_bars_and_labels() {
        for orientation in [Orientation::Vertical, Orientation::Horizontal] {
            let svg = chart(
                orientation,
                &[("first", 3.0), ("second", 12.0), ("third", 0.0)],
            );
            assert!(svg.starts_with("<svg"), "{orientation:?}");
            assert!(
                svg.contains("Title &lt;&amp;&gt;"),
                "{orientation:?}: title escaped"
            );
            assert!(svg.contains("category (unit)") && svg.contains("value (unit)"));
            // The texts of the page's <text> elements, trimmed (the backend writes them on
            // lines of their own).
            let texts: Vec<&str> = svg
                .split("<text")
                .skip(1)
                .filter_map(|t| t.split_once('>').map(|(_, rest)| rest))
                .filter_map(|t| t.split_once("</text>").map(|(text, _)| text.trim()))
                .collect();
            for label in ["first", "second", "third"] {
                assert_eq!(
                    texts.iter().filter(|t| **t == label).count(),
                    1,
                    "{orientation:?}: {label} once in {texts:?}"
                );
            }
            assert!(svg.contains("#4E79A7"), "{orientation:?}: bar colour");
            assert!(svg.contains("#F28E2B"), "{orientation:?}: highlight");
        }
    }

    #[test]
    fn an_empty_chart_still_draws() {
        let svg = chart(Orientation::Vertical, &[]);
        assert!(svg.contains("category (unit)"));
        assert!(!svg.contains("#4E79A7"), "no bars");
    }

    #[test]
    fn axis_numbers() {
        assert_eq!(axis_number(1200.0), "1,200");
        assert_eq!(axis_number(2.5), "2.5");
        assert_eq!(nice_max(&[]), 1.0);
        assert!((nice_max(&[10.0, 4.0]) - 11.0).abs() < 1e-9);
    }
}
