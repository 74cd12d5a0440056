//! A read-only [`ObjectStore`] view of a warehouse that shows only committed data files.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt as _, TryStreamExt as _};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
};

/// The committed files of a warehouse over the store that holds it.
///
/// `inner` is rooted at the warehouse root (paths are relative to it, as in the Delta snapshot's file list).
/// Listing returns only files named by a commit marker, so a `ListingTable` over
/// `<table>/` never sees temp files, files of a crashed writer or any other debris; a
/// committed file that is missing from the storage makes the listing fail (rather than the
/// query silently count fewer rows). Reads of uncommitted paths fail with `NotFound`;
/// writes are not supported.
#[derive(Debug)]
pub(crate) struct CommittedStore {
    inner: Arc<dyn ObjectStore>,
    /// Committed data files, relative to the root.
    files: Arc<BTreeSet<Path>>,
    /// Every directory holding a committed file, and their ancestors.
    dirs: BTreeSet<Path>,
    /// The warehouse URL, for messages.
    display: String,
}

impl CommittedStore {
    pub(crate) fn new(
        inner: Arc<dyn ObjectStore>,
        files: BTreeSet<Path>,
        display: String,
    ) -> CommittedStore {
        let mut dirs = BTreeSet::new();
        for f in &files {
            let parts: Vec<_> = f.parts().collect();
            for n in 1..parts.len() {
                dirs.insert(Path::from_iter(parts[..n].iter().cloned()));
            }
        }
        CommittedStore {
            inner,
            files: Arc::new(files),
            dirs,
            display,
        }
    }

    fn committed_under(&self, prefix: Option<&Path>) -> Vec<Path> {
        self.files
            .iter()
            .filter(|f| prefix.is_none_or(|p| f.prefix_matches(p)))
            .cloned()
            .collect()
    }

    fn check_committed(&self, location: &Path) -> Result<()> {
        if self.files.contains(location) {
            Ok(())
        } else {
            Err(object_store::Error::NotFound {
                path: location.to_string(),
                source: format!("not a committed file of the warehouse {}", self.display).into(),
            })
        }
    }

    fn read_only(&self, op: &str) -> object_store::Error {
        object_store::Error::NotSupported {
            source: format!(
                "{op}: the committed view of the warehouse {} is read-only",
                self.display
            )
            .into(),
        }
    }
}

impl fmt::Display for CommittedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CommittedStore({}, {} files)",
            self.display,
            self.files.len()
        )
    }
}

#[async_trait]
impl ObjectStore for CommittedStore {
    async fn put_opts(&self, _: &Path, _: PutPayload, _: PutOptions) -> Result<PutResult> {
        Err(self.read_only("put"))
    }

    async fn put_multipart_opts(
        &self,
        _: &Path,
        _: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        Err(self.read_only("put"))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.check_committed(location)?;
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.check_committed(location)?;
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        let err = self.read_only("delete").to_string();
        locations
            .map(move |_| {
                Err(object_store::Error::NotSupported {
                    source: err.clone().into(),
                })
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let expected = self.committed_under(prefix);
        if expected.is_empty() {
            // Nothing committed here: do not even ask the storage (the directory may not exist).
            return stream::empty().boxed();
        }
        let listing = self.inner.list(prefix);
        let files = Arc::clone(&self.files);
        let display = self.display.clone();
        stream::once(async move {
            let found: Vec<ObjectMeta> = listing.try_collect().await?;
            let mut out: Vec<ObjectMeta> = found
                .into_iter()
                .filter(|m| files.contains(&m.location))
                .collect();
            if out.len() != expected.len() {
                let seen: BTreeSet<&Path> = out.iter().map(|m| &m.location).collect();
                let missing: Vec<String> = expected
                    .iter()
                    .filter(|p| !seen.contains(p))
                    .map(|p| p.to_string())
                    .collect();
                return Err(object_store::Error::NotFound {
                    path: missing.join(", "),
                    source: format!(
                        "committed file(s) of the warehouse {display} missing from the storage"
                    )
                    .into(),
                });
            }
            out.sort_by(|a, b| a.location.cmp(&b.location));
            Ok(stream::iter(out.into_iter().map(Ok)))
        })
        .try_flatten()
        .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        if self.committed_under(prefix).is_empty() {
            return Ok(ListResult {
                common_prefixes: Vec::new(),
                objects: Vec::new(),
            });
        }
        let mut result = self.inner.list_with_delimiter(prefix).await?;
        result.objects.retain(|m| self.files.contains(&m.location));
        result.common_prefixes.retain(|p| self.dirs.contains(p));
        Ok(result)
    }

    async fn copy_opts(&self, _: &Path, _: &Path, _: CopyOptions) -> Result<()> {
        Err(self.read_only("copy"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::ObjectStoreExt as _;
    use object_store::memory::InMemory;

    #[tokio::test]
    async fn lists_and_reads_only_committed_files() {
        let inner = Arc::new(InMemory::new());
        for p in [
            "t/a.parquet",
            "t/orphan.parquet",
            "t/date=2024-01-01/b.parquet",
            "t/date=2024-01-02/orphan.parquet",
            "_tmp/x/c.parquet",
        ] {
            inner
                .put(&Path::from(p), Bytes::from_static(b"x").into())
                .await
                .unwrap();
        }
        let committed: BTreeSet<Path> = ["t/a.parquet", "t/date=2024-01-01/b.parquet"]
            .into_iter()
            .map(Path::from)
            .collect();
        let store = CommittedStore::new(inner, committed, "mem".into());

        let listed: Vec<String> = store
            .list(Some(&Path::from("t")))
            .map_ok(|m| m.location.to_string())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(listed, ["t/a.parquet", "t/date=2024-01-01/b.parquet"]);

        let top = store
            .list_with_delimiter(Some(&Path::from("t")))
            .await
            .unwrap();
        let prefixes: Vec<String> = top.common_prefixes.iter().map(|p| p.to_string()).collect();
        assert_eq!(prefixes, ["t/date=2024-01-01"]);
        assert_eq!(top.objects.len(), 1);

        assert!(store.get(&Path::from("t/a.parquet")).await.is_ok());
        let err = store
            .get(&Path::from("t/orphan.parquet"))
            .await
            .unwrap_err();
        assert!(matches!(err, object_store::Error::NotFound { .. }), "{err}");
        assert!(
            store
                .put(&Path::from("t/new"), Bytes::new().into())
                .await
                .is_err()
        );

        // A prefix without committed files is empty without asking the storage.
        let none: Vec<_> = store
            .list(Some(&Path::from("u")))
            .try_collect()
            .await
            .unwrap();
        assert!(none.is_empty());
    }

    #[tokio::test]
    async fn a_missing_committed_file_fails_the_listing() {
        let inner = Arc::new(InMemory::new());
        let committed: BTreeSet<Path> = [Path::from("t/gone.parquet")].into_iter().collect();
        let store = CommittedStore::new(inner, committed, "mem".into());
        let err = store
            .list(Some(&Path::from("t")))
            .try_collect::<Vec<_>>()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("t/gone.parquet"), "{err}");
    }
}
