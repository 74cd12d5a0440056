//! One storage abstraction with two backends, the local filesystem and HDFS (hdfs-native).
//! Everything above this module uses `/`-separated paths relative to the warehouse root.
//!
//! Guarantees relied on by the commit protocol:
//! - `rename_noreplace` is atomic and fails with `AlreadyExists` if the target exists (HDFS
//!   `rename2` without `OVERWRITE`; locally `link(2)` + `unlink(2)`, since `rename(2)` replaces).
//! - A file is complete and durable once `StorageFile::complete` returned (HDFS `complete`,
//!   local `fsync` when configured).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;
use hdfs_native::{Client, ClientBuilder, WriteOptions};
use parquet::arrow::async_writer::AsyncFileWriter;
use parquet::errors::ParquetError;
use tracing::{debug, warn};

use crate::config::{RetryPolicy, SinkConfig};
use crate::error::{BackendError, Class, Error, Op, Result};

/// An entry of a listing.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Path relative to the root.
    pub(crate) rel: String,
    pub(crate) is_dir: bool,
}

pub(crate) enum Backend {
    Local {
        root: PathBuf,
        fsync: bool,
    },
    Hdfs {
        client: Client,
        /// `hdfs://host:port`
        authority: String,
        /// Absolute root path inside HDFS, no trailing slash (`""` for `/`).
        root: String,
        write_options: WriteOptions,
        dir_permission: u32,
    },
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Local { root, fsync } => f
                .debug_struct("Local")
                .field("root", root)
                .field("fsync", fsync)
                .finish(),
            Backend::Hdfs {
                authority, root, ..
            } => f
                .debug_struct("Hdfs")
                .field("authority", authority)
                .field("root", root)
                .finish_non_exhaustive(),
        }
    }
}

type BResult<T> = std::result::Result<T, BackendError>;

impl Backend {
    /// Parse `url` and build the backend (no I/O yet).
    pub(crate) fn from_url(url: &str, config: &SinkConfig) -> Result<Backend> {
        let invalid = |reason: &str| Error::InvalidUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        if let Some(rest) = url.strip_prefix("hdfs://") {
            let (authority, path) = match rest.find('/') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, "/"),
            };
            if authority.is_empty() {
                return Err(invalid("missing NameNode host"));
            }
            let root = path.trim_end_matches('/').to_owned();
            if root.is_empty() {
                // Recovery and verify walk every top-level directory of the root.
                return Err(invalid(
                    "the warehouse must be a directory below /, e.g. hdfs://nn:9000/warehouse",
                ));
            }
            if root.split('/').any(|c| c == "..") {
                return Err(invalid("'..' is not allowed in the path"));
            }
            let authority = format!("hdfs://{authority}");
            let client = ClientBuilder::new()
                .with_url(authority.clone())
                .with_config(config.hdfs_options.clone())
                .build()
                .map_err(|e| {
                    Error::from_backend(Op::Connect, url.to_owned(), 1, Duration::ZERO, e.into())
                })?;
            let mut write_options = WriteOptions::default()
                .permission(config.file_permission)
                .overwrite(false)
                .create_parent(true);
            if let Some(r) = config.replication {
                write_options = write_options.replication(r);
            }
            if let Some(b) = config.block_size {
                write_options = write_options.block_size(b);
            }
            Ok(Backend::Hdfs {
                client,
                authority,
                root,
                write_options,
                dir_permission: config.dir_permission,
            })
        } else {
            let path = if let Some(rest) = url.strip_prefix("file://") {
                if !rest.starts_with('/') {
                    return Err(invalid(
                        "file:// URLs must have an absolute path (file:///…)",
                    ));
                }
                rest
            } else if url.contains("://") {
                return Err(invalid(
                    "supported schemes are hdfs:// and file://, or a plain path",
                ));
            } else {
                url
            };
            if path.is_empty() {
                return Err(invalid("empty path"));
            }
            let root = std::path::absolute(path).map_err(|e| invalid(&e.to_string()))?;
            if root.parent().is_none() {
                return Err(invalid("the warehouse must be a directory below /"));
            }
            Ok(Backend::Local {
                root,
                fsync: config.fsync,
            })
        }
    }

    /// Display form of a relative path: absolute local path or full `hdfs://` URL.
    pub(crate) fn display(&self, rel: &str) -> String {
        match self {
            Backend::Local { root, .. } => {
                if rel.is_empty() {
                    root.display().to_string()
                } else {
                    root.join(rel).display().to_string()
                }
            }
            Backend::Hdfs {
                authority, root, ..
            } => format!("{authority}{}", self.hdfs_abs_with(root, rel)),
        }
    }

    /// The URL of a table directory, for delta-rs.
    pub(crate) fn table_url(&self, table: &str) -> std::result::Result<url::Url, String> {
        match self {
            Backend::Local { root, .. } => url::Url::from_directory_path(root.join(table))
                .map_err(|()| format!("{} is not an absolute path", root.display())),
            Backend::Hdfs {
                authority, root, ..
            } => url::Url::parse(&format!("{authority}{}/", self.hdfs_abs_with(root, table)))
                .map_err(|e| e.to_string()),
        }
    }

    fn local_abs(root: &Path, rel: &str) -> PathBuf {
        if rel.is_empty() {
            root.to_path_buf()
        } else {
            root.join(rel)
        }
    }

    fn hdfs_abs_with(&self, root: &str, rel: &str) -> String {
        match (root.is_empty(), rel.is_empty()) {
            (true, true) => "/".to_owned(),
            (true, false) => format!("/{rel}"),
            (false, true) => root.to_owned(),
            (false, false) => format!("{root}/{rel}"),
        }
    }

    fn hdfs_rel(root: &str, abs: &str) -> String {
        let stripped = abs.strip_prefix(root).unwrap_or(abs);
        stripped.trim_start_matches('/').to_owned()
    }

    pub(crate) async fn mkdirs(&self, rel: &str) -> BResult<()> {
        match self {
            Backend::Local { root, .. } => {
                tokio::fs::create_dir_all(Self::local_abs(root, rel)).await?;
                Ok(())
            }
            Backend::Hdfs {
                client,
                root,
                dir_permission,
                ..
            } => {
                client
                    .mkdirs(&self.hdfs_abs_with(root, rel), *dir_permission, true)
                    .await?;
                Ok(())
            }
        }
    }

    /// Create a new file (parents created). Fails if it exists.
    pub(crate) async fn create(&self, rel: &str) -> BResult<FileInner> {
        match self {
            Backend::Local { root, .. } => {
                let abs = Self::local_abs(root, rel);
                if let Some(parent) = abs.parent() {
                    tokio::fs::create_dir_all(parent).await?;
                }
                let f = tokio::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&abs)
                    .await?;
                Ok(FileInner::Local(Arc::new(f.into_std().await)))
            }
            Backend::Hdfs {
                client,
                root,
                write_options,
                ..
            } => {
                let w = client
                    .create(&self.hdfs_abs_with(root, rel), write_options)
                    .await?;
                Ok(FileInner::Hdfs(Box::new(w)))
            }
        }
    }

    /// Delete a file or a directory (recursively). Missing paths are fine (`Ok(false)`).
    pub(crate) async fn delete(&self, rel: &str) -> BResult<bool> {
        match self {
            Backend::Local { root, .. } => {
                let abs = Self::local_abs(root, rel);
                let meta = match tokio::fs::symlink_metadata(&abs).await {
                    Ok(m) => m,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
                    Err(e) => return Err(e.into()),
                };
                let r = if meta.is_dir() {
                    tokio::fs::remove_dir_all(&abs).await
                } else {
                    tokio::fs::remove_file(&abs).await
                };
                match r {
                    Ok(()) => Ok(true),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                    Err(e) => Err(e.into()),
                }
            }
            Backend::Hdfs { client, root, .. } => {
                match client.delete(&self.hdfs_abs_with(root, rel), true).await {
                    Ok(b) => Ok(b),
                    Err(hdfs_native::HdfsError::FileNotFound(_)) => Ok(false),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    /// List a directory (optionally recursively). A missing directory lists as empty.
    pub(crate) async fn list(&self, rel: &str, recursive: bool) -> BResult<Vec<Entry>> {
        match self {
            Backend::Local { root, .. } => {
                let root = root.clone();
                let rel = rel.to_owned();
                tokio::task::spawn_blocking(move || list_local(&root, &rel, recursive))
                    .await
                    .map_err(|e| BackendError::from(std::io::Error::other(e)))?
            }
            Backend::Hdfs { client, root, .. } => {
                match client
                    .list_status(&self.hdfs_abs_with(root, rel), recursive)
                    .await
                {
                    Ok(v) => Ok(v
                        .into_iter()
                        .map(|s| Entry {
                            rel: Self::hdfs_rel(root, &s.path),
                            is_dir: s.isdir,
                        })
                        .collect()),
                    Err(hdfs_native::HdfsError::FileNotFound(_)) => Ok(Vec::new()),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    /// Length of a file, `None` if it does not exist.
    pub(crate) async fn len(&self, rel: &str) -> BResult<Option<u64>> {
        match self {
            Backend::Local { root, .. } => {
                match tokio::fs::metadata(Self::local_abs(root, rel)).await {
                    Ok(m) => Ok(Some(m.len())),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e.into()),
                }
            }
            Backend::Hdfs { client, root, .. } => {
                match client.get_file_info(&self.hdfs_abs_with(root, rel)).await {
                    Ok(s) => Ok(Some(s.length as u64)),
                    Err(hdfs_native::HdfsError::FileNotFound(_)) => Ok(None),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    /// Read `len` bytes at `offset`.
    pub(crate) async fn read_range(&self, rel: &str, offset: u64, len: usize) -> BResult<Bytes> {
        match self {
            Backend::Local { root, .. } => {
                use tokio::io::{AsyncReadExt, AsyncSeekExt};
                let mut f = tokio::fs::File::open(Self::local_abs(root, rel)).await?;
                f.seek(std::io::SeekFrom::Start(offset)).await?;
                let mut buf = vec![0u8; len];
                f.read_exact(&mut buf).await?;
                Ok(Bytes::from(buf))
            }
            Backend::Hdfs { client, root, .. } => {
                let r = client.read(&self.hdfs_abs_with(root, rel)).await?;
                let offset = usize::try_from(offset)
                    .map_err(|e| BackendError::from(std::io::Error::other(e)))?;
                Ok(r.read_range(offset, len).await?)
            }
        }
    }

    /// Read a whole file.
    pub(crate) async fn read_all(&self, rel: &str) -> BResult<Bytes> {
        match self {
            Backend::Local { root, .. } => Ok(Bytes::from(
                tokio::fs::read(Self::local_abs(root, rel)).await?,
            )),
            Backend::Hdfs { client, root, .. } => {
                let mut r = client.read(&self.hdfs_abs_with(root, rel)).await?;
                let n = r.file_length();
                Ok(r.read(n).await?)
            }
        }
    }

    /// `fsync` a directory after renames into it (local backend with fsync on).
    pub(crate) async fn sync_dir(&self, rel: &str) -> BResult<()> {
        if let Backend::Local { root, fsync: true } = self {
            let abs = Self::local_abs(root, rel);
            tokio::task::spawn_blocking(move || std::fs::File::open(abs)?.sync_all())
                .await
                .map_err(|e| BackendError::from(std::io::Error::other(e)))??;
        }
        Ok(())
    }

    /// Change permission bits (used by tests to provoke permission errors).
    pub(crate) async fn set_permission(&self, rel: &str, mode: u32) -> BResult<()> {
        match self {
            Backend::Local { root, .. } => {
                use std::os::unix::fs::PermissionsExt;
                tokio::fs::set_permissions(
                    Self::local_abs(root, rel),
                    std::fs::Permissions::from_mode(mode),
                )
                .await?;
                Ok(())
            }
            Backend::Hdfs { client, root, .. } => {
                client
                    .set_permission(&self.hdfs_abs_with(root, rel), mode)
                    .await?;
                Ok(())
            }
        }
    }

    pub(crate) fn fsync(&self) -> bool {
        matches!(self, Backend::Local { fsync: true, .. })
    }
}

fn list_local(root: &Path, rel: &str, recursive: bool) -> BResult<Vec<Entry>> {
    let mut out = Vec::new();
    let mut stack = vec![rel.to_owned()];
    while let Some(dir) = stack.pop() {
        let abs = Backend::local_abs(root, &dir);
        let rd = match std::fs::read_dir(&abs) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e.into()),
        };
        for ent in rd {
            let ent = match ent {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            };
            let name = ent.file_name().to_string_lossy().into_owned();
            let child = if dir.is_empty() {
                name
            } else {
                format!("{dir}/{name}")
            };
            let meta = match ent.metadata() {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            };
            if meta.is_dir() && recursive {
                stack.push(child.clone());
            }
            out.push(Entry {
                rel: child,
                is_dir: meta.is_dir(),
            });
        }
    }
    Ok(out)
}

/// An open file of either backend.
pub(crate) enum FileInner {
    /// Written with blocking `write_all` on tokio's blocking pool: one hop and no copy per
    /// buffer (a `tokio::fs::File` copies and hops per 2 MiB).
    Local(Arc<std::fs::File>),
    Hdfs(Box<hdfs_native::file::FileWriter>),
}

/// A file being written, adapted to parquet's [`AsyncFileWriter`].
///
/// parquet wraps errors of `write` into `ParquetError::External`, losing their class; the
/// original [`BackendError`] is kept in `error_slot` so the caller can report it precisely.
pub(crate) struct StorageFile {
    inner: FileInner,
    fsync: bool,
    timeout: Duration,
    pub(crate) error_slot: Arc<Mutex<Option<(Op, BackendError)>>>,
}

impl std::fmt::Debug for StorageFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageFile").finish_non_exhaustive()
    }
}

impl StorageFile {
    pub(crate) fn new(inner: FileInner, fsync: bool, timeout: Duration) -> Self {
        Self {
            inner,
            fsync,
            timeout,
            error_slot: Arc::new(Mutex::new(None)),
        }
    }

    fn fail(&self, op: Op, e: BackendError) -> ParquetError {
        let msg = e.to_string();
        if let Ok(mut slot) = self.error_slot.lock() {
            *slot = Some((op, e));
        }
        ParquetError::External(msg.into())
    }

    async fn write_vec(&mut self, buf: Vec<u8>) -> (Vec<u8>, BResult<()>) {
        match &mut self.inner {
            FileInner::Local(f) => {
                let f = f.clone();
                match tokio::task::spawn_blocking(move || {
                    use std::io::Write as _;
                    let r = (&*f).write_all(&buf);
                    (buf, r)
                })
                .await
                {
                    Ok((buf, r)) => (buf, r.map_err(Into::into)),
                    Err(e) => (Vec::new(), Err(std::io::Error::other(e).into())),
                }
            }
            FileInner::Hdfs(w) => (
                Vec::new(),
                w.write(Bytes::from(buf))
                    .await
                    .map(|_| ())
                    .map_err(Into::into),
            ),
        }
    }

    async fn write_bytes(&mut self, bs: Bytes) -> BResult<()> {
        if let FileInner::Hdfs(w) = &mut self.inner {
            w.write(bs).await?;
            return Ok(());
        }
        self.write_vec(bs.to_vec()).await.1
    }

    async fn finish(&mut self) -> BResult<()> {
        match &mut self.inner {
            FileInner::Local(f) => {
                if self.fsync {
                    let f = f.clone();
                    tokio::task::spawn_blocking(move || f.sync_all())
                        .await
                        .map_err(|e| BackendError::from(std::io::Error::other(e)))??;
                }
                Ok(())
            }
            FileInner::Hdfs(w) => {
                w.close().await?;
                Ok(())
            }
        }
    }

    /// Append `buf` (within the op timeout). Gives the buffer back (emptied) for reuse when
    /// the backend did not keep it.
    pub(crate) async fn put(&mut self, buf: Vec<u8>) -> (Vec<u8>, BResult<()>) {
        let t = self.timeout;
        match tokio::time::timeout(t, self.write_vec(buf)).await {
            Ok((mut buf, r)) => {
                buf.clear();
                (buf, r)
            }
            Err(_) => (Vec::new(), Err(BackendError::timeout(t))),
        }
    }

    /// Complete the file (HDFS `close`, local `fsync` when configured), within the op timeout.
    pub(crate) async fn close(&mut self) -> BResult<()> {
        let t = self.timeout;
        match tokio::time::timeout(t, self.finish()).await {
            Ok(r) => r,
            Err(_) => Err(BackendError::timeout(t)),
        }
    }
}

impl AsyncFileWriter for StorageFile {
    fn write(&mut self, bs: Bytes) -> BoxFuture<'_, parquet::errors::Result<()>> {
        async move {
            let t = self.timeout;
            match tokio::time::timeout(t, self.write_bytes(bs)).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(self.fail(Op::Write, e)),
                Err(_) => Err(self.fail(Op::Write, BackendError::timeout(t))),
            }
        }
        .boxed()
    }

    fn complete(&mut self) -> BoxFuture<'_, parquet::errors::Result<()>> {
        async move {
            let t = self.timeout;
            match tokio::time::timeout(t, self.finish()).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(self.fail(Op::Close, e)),
                Err(_) => Err(self.fail(Op::Close, BackendError::timeout(t))),
            }
        }
        .boxed()
    }
}

/// Run `f` with retries per `policy`: transient errors with bounded exponential backoff, safe
/// mode up to `safe_mode_wait`, each attempt limited to `op_timeout`. The final error is mapped
/// to a public [`Error`] naming `op` and `display_path`.
pub(crate) async fn with_retry<T, F, Fut>(
    policy: &RetryPolicy,
    op: Op,
    display_path: &str,
    mut f: F,
) -> Result<T>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = BResult<T>>,
{
    let started = Instant::now();
    let mut backoff = policy.initial_backoff;
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        let res = match tokio::time::timeout(policy.op_timeout, f(attempt)).await {
            Ok(r) => r,
            Err(_) => Err(BackendError::timeout(policy.op_timeout)),
        };
        let e = match res {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let class = e.class();
        let elapsed = started.elapsed();
        let again = match class {
            Class::SafeMode => elapsed + backoff <= policy.safe_mode_wait,
            c if c.retried() => attempt < policy.max_attempts,
            _ => false,
        };
        if !again {
            if class.retried() {
                warn!(%op, path = display_path, attempts = attempt, error = %e, "giving up");
            }
            return Err(Error::from_backend(
                op,
                display_path.to_owned(),
                attempt,
                elapsed,
                e,
            ));
        }
        debug!(%op, path = display_path, attempt, ?backoff, error = %e, "retrying");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(policy.max_backoff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let c = SinkConfig::default();
        let b = Backend::from_url("/tmp/x/", &c).expect("local");
        assert!(matches!(b, Backend::Local { .. }));
        assert_eq!(b.display("a/b"), "/tmp/x/a/b");
        let b = Backend::from_url("file:///tmp/y", &c).expect("file url");
        assert_eq!(b.display(""), "/tmp/y");
        assert!(Backend::from_url("file://rel", &c).is_err());
        assert!(Backend::from_url("s3://bucket/x", &c).is_err());
        assert!(Backend::from_url("hdfs:///x", &c).is_err());
        assert!(Backend::from_url("hdfs://nn:9000/", &c).is_err());
        assert!(Backend::from_url("/", &c).is_err());
    }

    #[tokio::test]
    async fn retry_gives_up_on_permanent_and_bounds_transient() {
        let policy = RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
            ..RetryPolicy::default()
        };
        let mut calls = 0;
        let r: Result<()> = with_retry(&policy, Op::Create, "/p", |_| {
            calls += 1;
            async { Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied).into()) }
        })
        .await;
        assert!(matches!(r, Err(Error::PermissionDenied { .. })));
        assert_eq!(calls, 1);
        let mut calls = 0;
        let r: Result<()> = with_retry(&policy, Op::Create, "/p", |_| {
            calls += 1;
            async { Err(std::io::Error::from(std::io::ErrorKind::ConnectionRefused).into()) }
        })
        .await;
        assert!(
            matches!(r, Err(Error::Unreachable { attempts: 3, .. })),
            "{r:?}"
        );
        assert_eq!(calls, 3);
        let r = with_retry(&policy, Op::Create, "/p", |n| async move {
            if n < 2 {
                Err(std::io::Error::from(std::io::ErrorKind::TimedOut).into())
            } else {
                Ok(n)
            }
        })
        .await;
        assert_eq!(r.expect("second attempt"), 2);
    }
}
