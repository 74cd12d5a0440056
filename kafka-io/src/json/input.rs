//! Opening an input file as what it is: plain or compressed text, a JSON array or NDJSON.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use super::error::{Error, Result};
use super::source::BOM;
use super::{InputFormat, JsonElements, NdjsonLines};

/// How an input file is compressed, from its first bytes (not its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputCompression {
    /// Plain text.
    None,
    /// gzip (one or more members, as `gzip` and `pigz` write).
    Gzip,
    /// Zstandard (one or more frames).
    Zstd,
}

impl InputCompression {
    /// The codec's name, e.g. `"gzip"`.
    pub fn name(self) -> &'static str {
        match self {
            InputCompression::None => "none",
            InputCompression::Gzip => "gzip",
            InputCompression::Zstd => "zstd",
        }
    }
}

/// An input file, examined: its compression and its format. [`InputFile::reader`] and the
/// splitters it makes read it from the start as text (decompressed), each time anew.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use kafka_io::json::{InputCompression, InputFormat, open_input};
/// let dir = std::env::temp_dir().join(format!("kafka-io-input-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("events.json");
/// std::fs::write(&path, "\u{feff}[{\"a\": 1}, {\"a\": tru}]")?;
/// let input = open_input(&path)?;
/// assert_eq!((input.format(), input.compression()), (InputFormat::JsonArray, InputCompression::None));
/// let mut elements = input.elements()?;
/// let first = elements.next_element()?.expect("an element");
/// assert_eq!((first.bytes, first.byte_offset), (&br#"{"a":1}"#[..], 4));
/// let second = elements.next_element()?.expect("an element");
/// assert_eq!(
///     second.diagnosis().as_deref(),
///     Some("not valid JSON at line 1, column 18 (byte 20): invalid number or literal")
/// );
/// std::fs::remove_dir_all(&dir)?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    path: PathBuf,
    compression: InputCompression,
    format: InputFormat,
}

/// Opens `path` and finds out what it holds (see [`InputFile`]): gzip and zstd are
/// recognized by their magic bytes and read transparently; other compressions, archives
/// and UTF-16 text are refused with a message that names them; a UTF-8 byte-order mark is
/// skipped; the format is [`InputFormat::JsonArray`] if the first other non-whitespace byte
/// is `[`, else [`InputFormat::Ndjson`] (also for an empty file).
///
/// # Errors
/// [`Error::Open`] if the file cannot be read, [`Error::Unsupported`] for a form that is
/// not read.
pub fn open_input(path: &Path) -> Result<InputFile> {
    InputFile::open(path)
}

impl InputFile {
    /// See [`open_input`].
    ///
    /// # Errors
    /// As [`open_input`].
    pub fn open(path: &Path) -> Result<InputFile> {
        let open_error = |error| Error::Open {
            path: path.to_owned(),
            error,
        };
        let mut magic = Vec::with_capacity(8);
        File::open(path)
            .and_then(|f| f.take(8).read_to_end(&mut magic))
            .map_err(open_error)?;
        let compression = compression_of(path, &magic)?;
        let mut input = InputFile {
            path: path.to_owned(),
            compression,
            format: InputFormat::Ndjson,
        };
        input.format = input.detect_format().map_err(open_error)?;
        Ok(input)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its compression.
    pub fn compression(&self) -> InputCompression {
        self.compression
    }

    /// Its format.
    pub fn format(&self) -> InputFormat {
        self.format
    }

    /// The file's text from the start, decompressed (a byte-order mark included: the
    /// splitters skip it).
    ///
    /// # Errors
    /// [`Error::Open`] if the file cannot be opened.
    pub fn reader(&self) -> Result<InputReader> {
        File::open(&self.path)
            .and_then(|file| InputReader::new(file, self.compression))
            .map_err(|error| Error::Open {
                path: self.path.clone(),
                error,
            })
    }

    /// The file's elements ([`JsonElements`] in its format, naming the file in errors).
    ///
    /// # Errors
    /// [`Error::Open`] if the file cannot be opened.
    pub fn elements(&self) -> Result<JsonElements<InputReader>> {
        Ok(JsonElements::new(self.reader()?, self.format).with_path(&self.path))
    }

    /// The file's non-blank lines ([`NdjsonLines`], naming the file in errors), whatever
    /// its format.
    ///
    /// # Errors
    /// [`Error::Open`] if the file cannot be opened.
    pub fn lines(&self) -> Result<NdjsonLines<InputReader>> {
        Ok(NdjsonLines::new(self.reader()?).with_path(&self.path))
    }

    /// The format from the first text bytes after a byte-order mark.
    fn detect_format(&self) -> std::io::Result<InputFormat> {
        let mut reader = InputReader::new(File::open(&self.path)?, self.compression)?;
        let mut buf = [0u8; 4096];
        let mut first = true;
        loop {
            let n = read_some(&mut reader, &mut buf)?;
            if n == 0 {
                return Ok(InputFormat::Ndjson);
            }
            let mut text = &buf[..n];
            if first && text.starts_with(BOM) {
                text = &text[BOM.len()..];
            }
            first = false;
            if let Some(f) = InputFormat::detect(text) {
                return Ok(f);
            }
        }
    }
}

/// Reads until `buf` has at least 3 bytes or the input ends (so that a byte-order mark is
/// seen whole).
fn read_some(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < BOM.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The compression a file's first bytes announce; an error for the forms not read.
fn compression_of(path: &Path, magic: &[u8]) -> Result<InputCompression> {
    const REFUSED: &[(&[u8], &str, &str)] = &[
        (b"BZh", "bzip2-compressed", "decompress it first (bunzip2)"),
        (
            b"\xFD7zXZ\x00",
            "xz-compressed",
            "decompress it first (unxz)",
        ),
        (
            b"\x04\x22\x4D\x18",
            "lz4-compressed",
            "decompress it first (unlz4)",
        ),
        (
            b"PK\x03\x04",
            "a zip archive",
            "extract the event file first (unzip)",
        ),
        (
            b"7z\xBC\xAF\x27\x1C",
            "a 7z archive",
            "extract the event file first",
        ),
        (
            b"\xFF\xFE",
            "UTF-16 text",
            "convert it to UTF-8 (iconv -f UTF-16 -t UTF-8)",
        ),
        (
            b"\xFE\xFF",
            "UTF-16 text",
            "convert it to UTF-8 (iconv -f UTF-16 -t UTF-8)",
        ),
    ];
    if magic.starts_with(b"\x1F\x8B") {
        return Ok(InputCompression::Gzip);
    }
    if magic.starts_with(b"\x28\xB5\x2F\xFD") {
        return Ok(InputCompression::Zstd);
    }
    for &(prefix, what, remedy) in REFUSED {
        if magic.starts_with(prefix) {
            return Err(Error::Unsupported {
                path: path.to_owned(),
                what,
                remedy,
            });
        }
    }
    Ok(InputCompression::None)
}

/// An input file's text: the file itself, or its decompressed content.
pub struct InputReader {
    inner: Decoder,
}

enum Decoder {
    Plain(File),
    Gzip(Box<flate2::read::MultiGzDecoder<BufReader<File>>>),
    Zstd(zstd::stream::read::Decoder<'static, BufReader<File>>),
}

impl InputReader {
    fn new(file: File, compression: InputCompression) -> std::io::Result<InputReader> {
        let inner = match compression {
            InputCompression::Gzip => Decoder::Gzip(Box::new(flate2::read::MultiGzDecoder::new(
                BufReader::new(file),
            ))),
            InputCompression::Zstd => Decoder::Zstd(zstd::stream::read::Decoder::new(file)?),
            InputCompression::None => Decoder::Plain(file),
        };
        Ok(InputReader { inner })
    }
}

impl Read for InputReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match &mut self.inner {
            Decoder::Plain(f) => f.read(buf),
            Decoder::Gzip(d) => d.read(buf),
            Decoder::Zstd(d) => d.read(buf),
        }
    }
}

impl std::fmt::Debug for InputReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.inner {
            Decoder::Plain(_) => InputCompression::None,
            Decoder::Gzip(_) => InputCompression::Gzip,
            Decoder::Zstd(_) => InputCompression::Zstd,
        };
        f.debug_struct("InputReader")
            .field("compression", &kind)
            .finish_non_exhaustive()
    }
}
