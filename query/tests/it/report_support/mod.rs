//! For the report's tests: reading the report's tables back from its HTML, turning `query`'s
//! JSON answers into the same cells, a headless Chromium, and a decoded screenshot.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

/// Undoes the report's HTML escaping.
pub fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The text between `start` and the next `end` after position `from`.
fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(&s[i..j])
}

/// The body rows of `<table id="{id}">`, each a list of cell texts; panics if absent.
pub fn table(html: &str, id: &str) -> Vec<Vec<String>> {
    let start = format!("<table id=\"{id}\">");
    let t = between(html, &start, "</table>").unwrap_or_else(|| panic!("no table {id}"));
    let body = between(t, "<tbody>", "</tbody>").unwrap_or_else(|| panic!("{id}: no tbody"));
    body.split("<tr>")
        .skip(1)
        .filter(|r| !r.contains("class=\"empty\""))
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|cell| {
                    let text =
                        between(cell, ">", "</td>").unwrap_or_else(|| panic!("{id}: {cell}"));
                    normalize(&unescape(text))
                })
                .collect()
        })
        .collect()
}

/// The text of the element with `id` (tags inside removed).
pub fn element_text(html: &str, id: &str) -> String {
    let start = format!("id=\"{id}\">");
    let inner = between(html, &start, "</").unwrap_or_else(|| panic!("no element {id}"));
    unescape(inner)
}

/// The number shown for the total with `id` (e.g. `total-attempts`), as shown (`3,280`).
pub fn total(html: &str, id: &str) -> String {
    let start = format!("<li id=\"{id}\"><b>");
    between(html, &start, "</b>")
        .unwrap_or_else(|| panic!("no total {id}"))
        .to_owned()
}

/// A cell as compared: numbers without thousands separators.
pub fn normalize(cell: &str) -> String {
    let is_number = !cell.is_empty()
        && cell.chars().any(|c| c.is_ascii_digit())
        && cell
            .chars()
            .all(|c| c.is_ascii_digit() || c == ',' || c == '.' || c == '-');
    if is_number && cell.contains(',') {
        cell.replace(',', "")
    } else {
        cell.to_owned()
    }
}

/// A JSON value of `query --format json` as the report shows it: integers whole, other
/// numbers with one decimal, times as `YYYY-MM-DD HH:MM:SS`, null as `–`.
pub fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "–".into(),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => i.to_string(),
            None => format!("{:.1}", n.as_f64().unwrap_or(f64::NAN)),
        },
        Some(Value::String(s)) if s.len() >= 19 && s.as_bytes()[10] == b'T' => {
            s[..19].replacen('T', " ", 1)
        }
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The rows of `query --format json` output (NDJSON of every statement) that have the
/// column `key`: the rows of the statement(s) whose result has that column.
pub fn rows_with(ndjson: &str, key: &str) -> Vec<Map<String, Value>> {
    ndjson
        .lines()
        .map(|l| match serde_json::from_str::<Value>(l) {
            Ok(Value::Object(m)) => m,
            other => panic!("not a JSON object: {l}: {other:?}"),
        })
        .filter(|m| m.contains_key(key))
        .collect()
}

/// The cells of `columns` of each row.
pub fn cells(rows: &[Map<String, Value>], columns: &[&str]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| columns.iter().map(|c| cell(r.get(*c))).collect())
        .collect()
}

/// The headless Chromium to use: `$CHROMIUM`, else `chromium-headless-shell` or `chromium`
/// on PATH; if none, `scripts/setup-chromium` is asked to install one (it fails without
/// root or apt, e.g. on a developer's machine without sudo rights). `Err` says why not.
pub fn chromium() -> Result<PathBuf, String> {
    if let Some(found) = find_chromium() {
        return Ok(found);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/setup-chromium");
    let out = Command::new(&script)
        .arg("--print")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    find_chromium().ok_or_else(|| "setup-chromium ran, but no Chromium is on PATH".into())
}

fn find_chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium-headless-shell", "chromium"]
        .iter()
        .find_map(|name| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        })
}

/// Screenshots `page` (a local HTML file) at `size` into `png` with headless Chromium, with
/// no network and a fresh profile; panics with Chromium's output if it fails or hangs.
pub fn screenshot(browser: &Path, page: &Path, png: &Path, size: (u32, u32)) {
    let profile = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("--window-size={},{}", size.0, size.1))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", browser.display()));
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap_or_else(|e| panic!("{e}")) {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{} did not finish within 120 s", browser.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        status.success() && png.is_file(),
        "{} failed ({status}): {}",
        browser.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A decoded image: width, height and RGB pixels.
#[derive(Debug)]
pub struct Image {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<[u8; 3]>,
}

impl Image {
    /// Decodes an 8-bit RGB or RGBA PNG.
    pub fn read(path: &Path) -> Image {
        let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut reader = png::Decoder::new(std::io::BufReader::new(file))
            .read_info()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut buf = vec![0; reader.output_buffer_size().unwrap_or_default()];
        let info = reader
            .next_frame(&mut buf)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(info.bit_depth, png::BitDepth::Eight, "{}", path.display());
        let channels = match info.color_type {
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            other => panic!("{}: colour type {other:?}", path.display()),
        };
        let rgb = buf[..info.line_size * info.height as usize]
            .chunks_exact(info.line_size)
            .flat_map(|line| {
                line[..info.width as usize * channels]
                    .chunks_exact(channels)
                    .map(|p| [p[0], p[1], p[2]])
            })
            .collect();
        Image {
            width: info.width,
            height: info.height,
            rgb,
        }
    }

    /// The share of pixels of exactly `color`.
    pub fn share_of(&self, color: [u8; 3]) -> f64 {
        self.rgb.iter().filter(|p| **p == color).count() as f64 / self.rgb.len().max(1) as f64
    }

    /// The pixel at (`x`, `y`).
    pub fn at(&self, x: u32, y: u32) -> [u8; 3] {
        self.rgb[(y * self.width + x) as usize]
    }

    /// The number of distinct colours.
    pub fn colours(&self) -> usize {
        let mut c: Vec<[u8; 3]> = self.rgb.clone();
        c.sort_unstable();
        c.dedup();
        c.len()
    }
}
