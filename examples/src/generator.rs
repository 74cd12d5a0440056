//! A deterministic generator of realistic assessment-attempt events.
//!
//! Calibrated on the five real events in `testdata/` and on facts of the original dataset
//! (3,280 events): 103 distinct exam names, "Learning Git" the most common with 394 events,
//! four exams with a single event, 1–6 questions per attempt (mostly 4–5), 2–5 options per
//! question, about 2.4 KB per event, epoch strings with 6 (sometimes 7) fractional digits,
//! optional `at` / `correct` / `submitted` on options, and key order that varies.
//!
//! For the default count of 3,280 the exam histogram is reproduced exactly; other counts
//! scale it (largest remainder), keeping every exam present while `count >= 103`.
//! The same `(seed, count)` always yields the same bytes, on every machine.

use std::fmt::Write as _;

/// Events in the original dataset.
pub const ORIGINAL_COUNT: usize = 3280;

/// The exam names and their event counts in a 3,280-event dataset (sum = 3,280).
pub fn exam_histogram() -> Vec<(&'static str, usize)> {
    const TOP: [(&str, usize); 24] = [
        ("Learning Git", 394),
        ("Introduction to Python", 162),
        ("Introduction to Java 8", 158),
        ("Intermediate Python Programming", 158),
        ("Learning to Program with R", 128),
        ("Introduction to Machine Learning", 119),
        (
            "Software Architecture Fundamentals Understanding the Basics",
            109,
        ),
        ("Beginning C# Programming", 95),
        ("Learning Eclipse", 85),
        ("Learning Apache Maven", 80),
        ("Beginning Programming with JavaScript", 79),
        ("Mastering Git", 77),
        ("Introduction to Big Data", 75),
        ("Advanced Machine Learning", 67),
        ("Learning Linux System Administration", 59),
        (
            "JavaScript: The Good Parts Master Class with Douglas Crockford",
            58,
        ),
        ("Learning SQL", 57),
        ("Practical Java Programming", 53),
        ("HTML5 The Basics", 52),
        ("Python Epiphanies", 51),
        ("Introduction to Data Science with R", 43),
        ("Relational Theory for Computer Professionals", 40),
        ("Normal Forms and All That Jazz Master Class", 40),
        ("The Principles of Microservices", 38),
    ];
    const SINGLES: [&str; 4] = [
        "Native Web Apps for Android",
        "Learning to Visualize Data with D3.js",
        "Operating Red Hat Enterprise Linux Servers",
        "Nulls, Three-valued Logic and Missing Information",
    ];
    const MIDDLE: [&str; 75] = [
        "Learning Data Modeling",
        "Networking for People Who Hate Networking",
        "Learning C# Best Practices",
        "Introduction to Hadoop YARN",
        "Learning Java EE 7",
        "Design Patterns in Java",
        "Git Fundamentals for Web Developers",
        "Introduction to Shiny",
        "An Introduction to d3.js: From Scattered to Scatterplot",
        "Learning iPython Notebook",
        "Data Visualization in R with ggplot2",
        "Introduction to Apache Spark",
        "Using R for Big Data with Spark",
        "Modeling for Software Architects",
        "Refactoring to Patterns",
        "Learning Spring Programming",
        "Cloud Native Architecture Fundamentals",
        "Expert Data Wrangling with R",
        "Arduino Prototyping Techniques",
        "Beginning Swift Programming",
        "Example Exam For Development and Testing oh yeahsdf",
        "Introduction to Architecting Amazon Web Services",
        "Architectural Thinking",
        "Learning Spring Boot",
        "Reproducible Research and Reports with R Markdown",
        "Hadoop Fundamentals for Data Scientists",
        "Mastering Python - Networking and Security",
        "Collaborating with Git",
        "Amazon Web Services - Simple Storage Service",
        "Understanding the Grails 3 Domain Model",
        "Using Storytelling to Effectively Communicate Data",
        "Introduction to TensorFlow",
        "Learning Apache Cassandra",
        "Docker for Developers",
        "Kubernetes Fundamentals",
        "Microservices Caching Strategies",
        "Event-Driven Architecture",
        "Learning Apache Kafka",
        "Streaming Data with Spark",
        "Scala Essentials",
        "Functional Programming in Scala",
        "Go Programming Basics",
        "Rust for Systems Programmers",
        "Learning Regular Expressions",
        "Bash Scripting Essentials",
        "Vim for Developers",
        "Effective Code Review",
        "Test-Driven Development in Python",
        "Continuous Delivery Pipelines",
        "Jenkins Fundamentals",
        "Ansible Basics",
        "Terraform Up and Running",
        "Learning MongoDB",
        "PostgreSQL Performance Tuning",
        "Redis in Action",
        "Elasticsearch Essentials",
        "GraphQL APIs",
        "RESTful API Design",
        "OAuth 2.0 Fundamentals",
        "Web Security Basics",
        "Introduction to Cryptography",
        "Blockchain Fundamentals",
        "Statistics for Data Science",
        "Bayesian Methods",
        "Time Series Forecasting",
        "Deep Learning Foundations",
        "Natural Language Processing with Python",
        "Computer Vision Basics",
        "Recommender Systems",
        "A/B Testing in Practice",
        "Data Engineering on AWS",
        "Learning Airflow",
        "Designing Data-Intensive Applications",
        "Site Reliability Engineering",
        "Agile Estimation",
    ];
    let mut hist: Vec<(&str, usize)> = TOP.to_vec();
    // The 75 middle exams share what remains (3280 - top - 4), decreasing from 33 to 4 events.
    let top_sum: usize = TOP.iter().map(|(_, n)| n).sum();
    let middle_total = ORIGINAL_COUNT - top_sum - SINGLES.len();
    let weights: Vec<f64> = (0..MIDDLE.len())
        .map(|i| 1.0 / (1.0 + i as f64 * 0.06))
        .collect();
    let counts = apportion(middle_total, &weights, 2);
    hist.extend(MIDDLE.iter().copied().zip(counts));
    hist.extend(SINGLES.iter().map(|s| (*s, 1)));
    hist
}

/// Splits `total` into parts proportional to `weights` (largest remainder), each at least `min`.
fn apportion(total: usize, weights: &[f64], min: usize) -> Vec<usize> {
    let base = min * weights.len();
    let rest = total.saturating_sub(base);
    let sum: f64 = weights.iter().sum();
    let exact: Vec<f64> = weights.iter().map(|w| w / sum * rest as f64).collect();
    let mut parts: Vec<usize> = exact.iter().map(|x| x.floor() as usize).collect();
    let mut short = rest - parts.iter().sum::<usize>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        let fa = exact[a] - exact[a].floor();
        let fb = exact[b] - exact[b].floor();
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    for &i in order.iter().cycle() {
        if short == 0 {
            break;
        }
        parts[i] += 1;
        short -= 1;
    }
    parts.iter().map(|p| p + min).collect()
}

/// SplitMix64: tiny, fast, and the same on every platform.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    /// Picks an index by weight.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut x = self.below(u64::from(total)) as u32;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}

fn uuid(rng: &mut Rng, out: &mut String) {
    let a = rng.next_u64();
    let b = rng.next_u64();
    let _ = write!(
        out,
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    );
}

fn uuid_string(rng: &mut Rng) -> String {
    let mut s = String::with_capacity(36);
    uuid(rng, &mut s);
    s
}

/// Writes an ISO-8601 UTC timestamp with milliseconds for `micros` since the epoch.
fn iso(out: &mut String, micros: i64) {
    let secs = micros.div_euclid(1_000_000);
    let ms = micros.rem_euclid(1_000_000) / 1000;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let _ = write!(
        out,
        "\"{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z\"",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    );
}

/// Per-exam constants: ids that the real data repeats across attempts.
#[derive(Debug, Clone)]
struct Exam {
    name: &'static str,
    base_exam_id: String,
    sequence_id: String,
    question_ids: Vec<String>,
    option_ids: Vec<Vec<String>>,
}

/// Output layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON array, like the original file.
    JsonArray,
    /// One event per line.
    Ndjson,
}

/// A seeded event generator.
#[derive(Debug)]
pub struct Generator {
    rng: Rng,
    exams: Vec<Exam>,
    /// Shuffled exam index of each event.
    schedule: Vec<u32>,
    next: usize,
    clock_us: i64,
}

impl Generator {
    /// A generator of `count` events from `seed`.
    pub fn new(seed: u64, count: usize) -> Self {
        let mut rng = Rng::new(seed);
        let hist = exam_histogram();
        let mut exams = Vec::with_capacity(hist.len());
        for (name, _) in &hist {
            let nq = 6;
            let question_ids = (0..nq).map(|_| uuid_string(&mut rng)).collect();
            let option_ids = (0..nq)
                .map(|_| (0..5).map(|_| uuid_string(&mut rng)).collect())
                .collect();
            exams.push(Exam {
                name,
                base_exam_id: uuid_string(&mut rng),
                sequence_id: uuid_string(&mut rng),
                question_ids,
                option_ids,
            });
        }
        let counts: Vec<usize> = if count == ORIGINAL_COUNT {
            hist.iter().map(|(_, n)| *n).collect()
        } else {
            let w: Vec<f64> = hist.iter().map(|(_, n)| *n as f64).collect();
            let min = usize::from(count >= hist.len());
            apportion(count, &w, min)
        };
        let mut schedule: Vec<u32> = counts
            .iter()
            .enumerate()
            .flat_map(|(i, n)| std::iter::repeat_n(i as u32, *n))
            .collect();
        schedule.truncate(count);
        rng.shuffle(&mut schedule);
        Self {
            rng,
            exams,
            schedule,
            next: 0,
            clock_us: 1_516_717_377_639_827,
        }
    }

    /// Events left to generate.
    pub fn remaining(&self) -> usize {
        self.schedule.len() - self.next
    }

    /// Appends the next event (compact JSON, no newline) to `out`; `false` when done.
    pub fn next_into(&mut self, out: &mut String) -> bool {
        let Some(&exam_ix) = self.schedule.get(self.next) else {
            return false;
        };
        let index = self.next;
        self.next += 1;
        let rng = &mut self.rng;
        let exam = &self.exams[exam_ix as usize];
        // Time moves forward by 0–60 s between events; about 3,280 events span ~1.5 days.
        self.clock_us += rng.below(60_000_000) as i64;
        let ts = self.clock_us;
        let duration = 30_000_000 + rng.below(600_000_000) as i64;
        let started = ts - duration;

        let nq = 1 + rng.weighted(&[3, 6, 12, 44, 30, 5]);
        let mut q_json = String::with_capacity(2048);
        let (mut c_correct, mut c_incorrect, mut c_incomplete, mut c_submitted) = (0, 0, 0, 0);
        let mut t = started + 3_000_000;
        for qi in 0..nq {
            let no = 2 + rng.weighted(&[10, 35, 40, 15]);
            let answer: Vec<bool> = (0..no).map(|_| rng.chance(0.45)).collect();
            let mut opts = String::with_capacity(512);
            let mut all_right = true;
            let mut any_checked = false;
            for (oi, &is_correct) in answer.iter().enumerate() {
                let checked = if rng.chance(0.8) {
                    is_correct
                } else {
                    !is_correct
                };
                any_checked |= checked;
                all_right &= checked == is_correct;
                if oi > 0 {
                    opts.push(',');
                }
                // Key orders seen in the real data.
                opts.push_str("{\"checked\":");
                opts.push_str(if checked { "true" } else { "false" });
                let touched = checked || rng.chance(0.1);
                if touched {
                    t += rng.below(15_000_000) as i64;
                    opts.push_str(",\"at\":");
                    iso(&mut opts, t);
                }
                opts.push_str(",\"id\":\"");
                opts.push_str(&exam.option_ids[qi][oi]);
                opts.push('"');
                if checked {
                    opts.push_str(",\"submitted\":1");
                }
                if is_correct {
                    opts.push_str(",\"correct\":true");
                }
                opts.push('}');
            }
            let incomplete = any_checked && !all_right && rng.chance(0.4);
            let result = match (all_right, any_checked) {
                (true, _) => "correct",
                (false, true) if incomplete => "missed_some",
                _ => "incorrect",
            };
            if all_right {
                c_correct += 1;
            } else if incomplete {
                c_incomplete += 1;
            } else {
                c_incorrect += 1;
            }
            c_submitted += usize::from(any_checked);
            if qi > 0 {
                q_json.push(',');
            }
            let _ = write!(
                q_json,
                "{{\"user_incomplete\":{incomplete},\"user_correct\":{all_right},\"options\":[{opts}],\"user_submitted\":{any_checked},\"id\":\"{}\",\"user_result\":\"{result}\"}}",
                exam.question_ids[qi]
            );
        }
        let unanswered = nq - c_submitted;

        let mut keen_id = String::with_capacity(24);
        let _ = write!(
            keen_id,
            "{:08x}{:016x}",
            ts / 1_000_000,
            rng.next_u64() ^ index as u64
        );
        let seven = rng.chance(0.05);
        let mut epoch = String::with_capacity(20);
        let _ = write!(epoch, "\"{}.{:06}", ts / 1_000_000, ts % 1_000_000);
        if seven {
            let _ = write!(epoch, "{}", rng.below(10));
        }
        epoch.push('"');
        let mut started_s = String::with_capacity(28);
        iso(&mut started_s, started);
        let user_exam_id = uuid_string(rng);
        let sequences = format!(
            "{{\"attempt\":1,\"id\":\"{}\",\"questions\":[{q_json}],\"counts\":{{\"incomplete\":{c_incomplete},\"submitted\":{c_submitted},\"incorrect\":{c_incorrect},\"all_correct\":{},\"correct\":{c_correct},\"total\":{nq},\"unanswered\":{unanswered}}}}}",
            exam.sequence_id,
            c_correct == nq
        );
        let exam_name = serde_json::to_string(exam.name).unwrap_or_default();
        let mut members: [(&str, String); 10] = [
            ("keen_timestamp", epoch.clone()),
            ("max_attempts", "\"1.0\"".into()),
            ("started_at", started_s),
            ("base_exam_id", format!("\"{}\"", exam.base_exam_id)),
            ("user_exam_id", format!("\"{user_exam_id}\"")),
            ("sequences", sequences),
            ("keen_created_at", epoch),
            ("certification", "\"false\"".into()),
            ("keen_id", format!("\"{keen_id}\"")),
            ("exam_name", exam_name),
        ];
        if rng.chance(0.1) {
            rng.shuffle(&mut members);
        }
        out.push('{');
        for (i, (k, v)) in members.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "\"{k}\":{v}");
        }
        out.push('}');
        true
    }

    /// Writes all remaining events to `w` in `format`; returns the number written.
    pub fn write_all(
        &mut self,
        w: &mut impl std::io::Write,
        format: Format,
    ) -> std::io::Result<usize> {
        let mut buf = String::with_capacity(1 << 16);
        let mut n = 0;
        if format == Format::JsonArray {
            buf.push('[');
        }
        loop {
            let before = buf.len();
            if format == Format::JsonArray && n > 0 {
                buf.push(',');
            }
            if !self.next_into(&mut buf) {
                buf.truncate(before);
                break;
            }
            if format == Format::Ndjson {
                buf.push('\n');
            }
            n += 1;
            if buf.len() > (1 << 16) - 8192 {
                w.write_all(buf.as_bytes())?;
                buf.clear();
            }
        }
        if format == Format::JsonArray {
            buf.push_str("]\n");
        }
        w.write_all(buf.as_bytes())?;
        Ok(n)
    }
}

impl Iterator for Generator {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        let mut s = String::with_capacity(2600);
        self.next_into(&mut s).then_some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn histogram_matches_the_original_facts() {
        let h = exam_histogram();
        assert_eq!(h.len(), 103);
        assert_eq!(h.iter().map(|(_, n)| n).sum::<usize>(), ORIGINAL_COUNT);
        let max = h.iter().max_by_key(|(_, n)| *n).unwrap();
        assert_eq!(*max, ("Learning Git", 394));
        assert_eq!(h.iter().filter(|(_, n)| *n == 1).count(), 4);
        let mut names: Vec<_> = h.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 103);
    }

    #[test]
    fn default_dataset_is_calibrated_and_deterministic() {
        let events: Vec<String> = Generator::new(42, ORIGINAL_COUNT).collect();
        assert_eq!(events.len(), ORIGINAL_COUNT);
        let again: Vec<String> = Generator::new(42, ORIGINAL_COUNT).collect();
        assert_eq!(events, again);
        let mut by_exam: HashMap<String, usize> = HashMap::new();
        let mut questions = [0usize; 7];
        let mut bytes = 0;
        for e in &events {
            let v: serde_json::Value = serde_json::from_str(e).expect("valid JSON");
            *by_exam
                .entry(v["exam_name"].as_str().unwrap().to_owned())
                .or_default() += 1;
            let qs = v["sequences"]["questions"].as_array().unwrap();
            questions[qs.len()] += 1;
            for q in qs {
                let n = q["options"].as_array().unwrap().len();
                assert!((2..=5).contains(&n));
            }
            bytes += e.len();
        }
        assert_eq!(by_exam.len(), 103);
        assert_eq!(by_exam["Learning Git"], 394);
        assert_eq!(by_exam.values().filter(|n| **n == 1).count(), 4);
        assert_eq!(questions[0], 0);
        assert!(
            questions[4] + questions[5] > ORIGINAL_COUNT / 2,
            "{questions:?}"
        );
        let avg = bytes / events.len();
        assert!((2000..2900).contains(&avg), "average event size {avg}");
        let ids: std::collections::HashSet<_> = events
            .iter()
            .map(|e| {
                serde_json::from_str::<serde_json::Value>(e).unwrap()["keen_id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(ids.len(), ORIGINAL_COUNT, "keen_id is unique");
    }

    #[test]
    fn formats_parse_back() {
        let mut buf = Vec::new();
        let n = Generator::new(1, 50)
            .write_all(&mut buf, Format::JsonArray)
            .unwrap();
        assert_eq!(n, 50);
        let v: Vec<serde_json::Value> = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v.len(), 50);
        let mut nd = Vec::new();
        Generator::new(1, 50)
            .write_all(&mut nd, Format::Ndjson)
            .unwrap();
        assert_eq!(
            nd.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count(),
            50
        );
    }
}
