//! Requests that are not a form: a file sent as `multipart/form-data` (the storage upload), and
//! an answer that is a file rather than JSON (a file-restore download).
//!
//! An upload is streamed from disk in [`CHUNK`]-sized reads, so memory stays flat whatever the
//! file's size; its length is known before it is sent (PVE and its proxy want a
//! `Content-Length`). Its deadline grows with its size: the request timeout plus the size at the
//! slowest rate accepted ([`ClientBuilder::upload_rate`](super::ClientBuilder::upload_rate),
//! 1 MiB/s by default: a 4 GiB ISO may take 68 minutes).

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::AsyncReadExt;

use crate::Error;

/// Bytes read from disk at a time, for an upload and for its checksum.
pub const CHUNK: usize = 256 * 1024;

/// The slowest upload accepted by default, in bytes per second (1 MiB/s).
pub const DEFAULT_UPLOAD_RATE: u64 = 1 << 20;

/// A local file to upload: its path and length, read when it is opened. The file is read again
/// (streamed) when the request is sent; a file whose length changed in between is refused
/// rather than sent with a wrong `Content-Length`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadFile {
    path: PathBuf,
    len: u64,
}

impl UploadFile {
    /// Opens `path`: it must be a regular file (symbolic links are followed).
    pub async fn open(path: impl Into<PathBuf>) -> Result<UploadFile, Error> {
        let path = path.into();
        let meta = tokio::fs::metadata(&path)
            .await
            .map_err(|e| local(&path, &e))?;
        if !meta.is_file() {
            return Err(Error::LocalFile {
                path: path.display().to_string(),
                message: "not a regular file".to_string(),
            });
        }
        Ok(UploadFile {
            path,
            len: meta.len(),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its length in bytes, as read when it was opened.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True for an empty file.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The SHA-256 of the file as lower-case hex, read in [`CHUNK`]s (for `checksum` with
    /// `checksum-algorithm=sha256`, which PVE verifies before it keeps the file).
    pub async fn sha256(&self) -> Result<String, Error> {
        let mut file = self.reopen().await?;
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        let mut buf = vec![0u8; CHUNK];
        let mut read = 0u64;
        loop {
            let n = file
                .read(&mut buf)
                .await
                .map_err(|e| local(&self.path, &e))?;
            if n == 0 {
                break;
            }
            read += n as u64;
            ctx.update(&buf[..n]);
        }
        if read != self.len {
            return Err(self.changed(read));
        }
        Ok(ctx
            .finish()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect())
    }

    /// The file opened again for reading, its length unchanged.
    pub(crate) async fn reopen(&self) -> Result<tokio::fs::File, Error> {
        let file = tokio::fs::File::open(&self.path)
            .await
            .map_err(|e| local(&self.path, &e))?;
        let now = file
            .metadata()
            .await
            .map_err(|e| local(&self.path, &e))?
            .len();
        if now != self.len {
            return Err(self.changed(now));
        }
        Ok(file)
    }

    fn changed(&self, now: u64) -> Error {
        Error::LocalFile {
            path: self.path.display().to_string(),
            message: format!(
                "its length changed from {} to {now} bytes since it was opened; open it again \
                 when it is complete",
                self.len
            ),
        }
    }

    /// The multipart part of the file, named `file_name`: exactly [`UploadFile::len`] bytes,
    /// streamed in [`CHUNK`]s.
    pub(crate) async fn part(&self, file_name: &str) -> Result<reqwest::multipart::Part, Error> {
        let file = self.reopen().await?;
        let stream = tokio_util::io::ReaderStream::with_capacity(file.take(self.len), CHUNK);
        reqwest::multipart::Part::stream_with_length(reqwest::Body::wrap_stream(stream), self.len)
            .file_name(file_name.to_string())
            .mime_str("application/octet-stream")
            .map_err(|e| Error::Config {
                message: format!("multipart part: {e}"),
            })
    }
}

fn local(path: &Path, e: &std::io::Error) -> Error {
    Error::LocalFile {
        path: path.display().to_string(),
        message: super::response::tidy_cause(&e.to_string()),
    }
}

/// The deadline of an upload of `len` bytes: `timeout` plus the time the file takes at `rate`
/// bytes per second.
pub fn upload_timeout(timeout: Duration, len: u64, rate: u64) -> Duration {
    timeout.saturating_add(Duration::from_secs(len.div_ceil(rate.max(1))))
}

/// An answer that is a file (`GET .../file-restore/download`), read up to a limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    /// The bytes read: the whole file, or its first `limit` bytes when `cut`.
    pub bytes: Vec<u8>,
    /// The answer's `Content-Type`, such as `application/octet-stream` or `application/zip`.
    pub content_type: Option<String>,
    /// The `Content-Length` PVE announced, when it did.
    pub length: Option<u64>,
    /// True when the file was longer than the limit and the rest was not read.
    pub cut: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deadline_grows_with_the_size() {
        let t = Duration::from_secs(30);
        assert_eq!(upload_timeout(t, 0, DEFAULT_UPLOAD_RATE), t);
        assert_eq!(
            upload_timeout(t, 4 << 30, DEFAULT_UPLOAD_RATE),
            Duration::from_secs(30 + 4096)
        );
        assert_eq!(upload_timeout(t, 1, 0), Duration::from_secs(31));
    }

    #[tokio::test]
    async fn a_file_is_hashed_and_refused_when_it_changed() {
        let dir = std::env::temp_dir().join(format!("pmcp-upload-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.iso");
        std::fs::write(&p, b"abc").unwrap();
        let f = UploadFile::open(&p).await.unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(
            f.sha256().await.unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        std::fs::write(&p, b"abcd").unwrap();
        let e = f.sha256().await.unwrap_err().to_string();
        assert!(e.contains("changed from 3 to 4"), "{e}");
        let e = UploadFile::open(&dir).await.unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        let e = UploadFile::open(dir.join("none")).await.unwrap_err();
        assert!(matches!(e, Error::LocalFile { .. }), "{e:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
