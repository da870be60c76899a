//! Deterministic deployment packages: the same folder gives the same zip bytes, whatever the
//! files' timestamps or the order the file system lists them in, so that `CodeSha256` changes
//! only when the code does (docs/aws-behaviour.md rule 11).

use std::collections::BTreeMap;
use std::io::{Cursor, Read as _, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use base64::Engine;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// Larger packages must go through S3, which this tool does not do (docs/aws-behaviour.md rule 31).
pub const MAX_ZIP_BYTES: usize = 50 * 1024 * 1024;
/// The most a function may hold unzipped.
pub const MAX_UNZIPPED_BYTES: u64 = 250 * 1024 * 1024;

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
}

/// A built package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub bytes: Vec<u8>,
    /// base64(sha256(bytes)), as Lambda reports `CodeSha256`.
    pub sha256: String,
}

fn skipped(name: &str) -> bool {
    name == "__pycache__" || name == ".DS_Store" || name.ends_with(".pyc") || name == ".git"
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf, bool, u64)>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if skipped(&name) {
            continue;
        }
        let path = entry.path();
        let link = std::fs::symlink_metadata(&path).with_context(|| format!("cannot read {}", path.display()))?;
        if link.file_type().is_symlink() {
            // A link is followed only to a file inside the folder: never to a secret elsewhere
            // (`~/.aws/credentials`), never to a folder (loops).
            let target = std::fs::canonicalize(&path).with_context(|| format!("{} is a broken symbolic link", path.display()))?;
            let inside = std::fs::canonicalize(root).is_ok_and(|r| target.starts_with(r));
            if !inside {
                bail!(
                    "{} is a symbolic link to {}, outside {}: refused (copy the file in instead)",
                    path.display(),
                    target.display(),
                    root.display()
                );
            }
            if target.is_dir() {
                bail!("{} is a symbolic link to a folder: refused (links are followed only to files)", path.display());
            }
        }
        let meta = std::fs::metadata(&path).with_context(|| format!("cannot read {}", path.display()))?;
        if !meta.is_dir() && !meta.is_file() {
            bail!("{} is not a regular file (a pipe, socket or device): refused", path.display());
        }
        if meta.is_dir() {
            collect(root, &path, out)?;
        } else if meta.is_file() {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let rel = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/");
            #[cfg(unix)]
            let exec = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111 != 0;
            #[cfg(not(unix))]
            let exec = false;
            out.push((rel, path, exec, meta.len()));
        }
    }
    Ok(())
}

/// Zips `dir`: entries sorted by path, stored (not compressed, so that the bytes do not
/// depend on a compressor's version), timestamps fixed at 1980-01-01, permissions 0644 (0755
/// for executables), no extra fields. `__pycache__`, `*.pyc` and `.DS_Store` are left out.
/// A symbolic link to a file inside `dir` is packaged as that file's content; a link that
/// resolves outside `dir`, a link to a folder, and special files (pipes, sockets, devices) are
/// refused with their path.
pub fn build(dir: &Path) -> Result<Package> {
    let mut files = Vec::new();
    collect(dir, dir, &mut files)?;
    files.sort_by(|a, b| a.0.cmp(&b.0));
    if files.is_empty() {
        bail!("{} holds no files to deploy", dir.display());
    }
    // Refused from the sizes alone, before anything is read: entries are stored, so the zip
    // is at least as large as the files.
    let unzipped: u64 = files.iter().map(|f| f.3).sum();
    if unzipped > MAX_UNZIPPED_BYTES {
        bail!("{} holds {} of files; a Lambda function may hold at most {} unzipped", dir.display(), mb(unzipped), mb(MAX_UNZIPPED_BYTES));
    }
    if unzipped > MAX_ZIP_BYTES as u64 {
        bail!(
            "the package of {} would be at least {} (files are stored, not compressed, for byte-stable hashes); \
             Lambda takes at most {} in a direct upload",
            dir.display(),
            mb(unzipped),
            mb(MAX_ZIP_BYTES as u64)
        );
    }
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for (rel, path, exec, _) in files {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .last_modified_time(DateTime::default())
            .unix_permissions(if exec { 0o755 } else { 0o644 })
            .large_file(false);
        zip.start_file(rel.as_str(), options)?;
        let data = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        zip.write_all(&data)?;
    }
    let bytes = zip.finish()?.into_inner();
    if bytes.len() > MAX_ZIP_BYTES {
        bail!(
            "the package of {} is {}; Lambda takes at most {} in a direct upload",
            dir.display(),
            mb(bytes.len() as u64),
            mb(MAX_ZIP_BYTES as u64)
        );
    }
    let sha256 = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&bytes));
    Ok(Package { bytes, sha256 })
}

/// The files of a deployed package, by path. Refused, naming the entry: one that would land
/// outside its folder (`..`, an absolute path), a symbolic link, and files adding up to more
/// than a function may hold unzipped (counted as they are read, not from the headers, which a
/// zip can lie in). Folders and the skipped names (`__pycache__`, ...) are left out.
pub fn read_zip(bytes: &[u8], what: &str) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).with_context(|| format!("{what} is not a readable zip"))?;
    let mut out = BTreeMap::new();
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).with_context(|| format!("{what}: entry {i} cannot be read"))?;
        let name = entry.name().with_context(|| format!("{what}: entry {i} has no readable name"))?.to_string();
        let escapes = name.starts_with('/')
            || name.starts_with('\\')
            || name.contains(':')
            || name.split(['/', '\\']).any(|part| part == "..")
            || entry.enclosed_name().is_none();
        if escapes {
            bail!("{what}: entry `{name}` would be written outside its folder; refused");
        }
        if entry.is_symlink() {
            bail!("{what}: entry `{name}` is a symbolic link; refused");
        }
        if entry.is_dir() || name.split('/').any(skipped) {
            continue;
        }
        let mut data = Vec::new();
        let room = MAX_UNZIPPED_BYTES.saturating_sub(total) + 1;
        std::io::Read::read_to_end(&mut (&mut entry).take(room), &mut data).with_context(|| format!("{what}: `{name}` cannot be read"))?;
        total += data.len() as u64;
        if total > MAX_UNZIPPED_BYTES {
            bail!("{what} unzips to more than {}, the most a function may hold; refused", mb(MAX_UNZIPPED_BYTES));
        }
        out.insert(name, data);
    }
    Ok(out)
}

/// The paths whose content differs between two packages' files (added, removed or changed).
pub fn content_diff(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    let paths: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    paths.into_iter().filter(|p| a.get(*p) != b.get(*p)).cloned().collect()
}

/// Downloads a deployed package from its `Code.Location` (a presigned HTTPS URL on AWS; the
/// emulator's own HTTP URL locally), at most the largest zip Lambda takes.
pub async fn download(url: &str) -> Result<Vec<u8>> {
    use http_body_util::BodyExt;
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .context("no certificate roots to download the deployed code with")?
        .https_or_http()
        .enable_http1()
        .build();
    let client: hyper_util::client::legacy::Client<_, http_body_util::Empty<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(https);
    let uri: hyper::Uri = url.parse().context("Code.Location is not a URL")?;
    // The URL is presigned: its query is a credential, never shown.
    let shown = url.split('?').next().unwrap_or(url).to_string();
    let get = tokio::time::timeout(std::time::Duration::from_secs(60), client.get(uri));
    let resp =
        get.await.with_context(|| format!("downloading {shown}: no answer in 60 s"))?.with_context(|| format!("downloading {shown}"))?;
    if !resp.status().is_success() {
        bail!("downloading {shown}: HTTP {}", resp.status());
    }
    let body = http_body_util::Limited::new(resp.into_body(), MAX_ZIP_BYTES + 1);
    let bytes = body.collect().await.map_err(|e| anyhow::anyhow!("downloading {shown}: {e}"))?.to_bytes();
    Ok(bytes.to_vec())
}

#[cfg(test)]
mod links {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn links_outside_the_folder_folders_and_special_files_are_refused() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("lambda_function.py"), "x = 1\n").unwrap();
        // A link to a file inside is packaged as the file.
        std::os::unix::fs::symlink("lambda_function.py", d.path().join("alias.py")).unwrap();
        build(d.path()).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", d.path().join("x.py")).unwrap();
        let e = format!("{:#}", build(d.path()).unwrap_err());
        assert!(e.contains("x.py is a symbolic link to /etc/passwd, outside"), "{e}");
        std::fs::remove_file(d.path().join("x.py")).unwrap();
        std::os::unix::fs::symlink(".", d.path().join("loop")).unwrap();
        let e = format!("{:#}", build(d.path()).unwrap_err());
        assert!(e.contains("loop is a symbolic link to a folder"), "{e}");
        std::fs::remove_file(d.path().join("loop")).unwrap();
        let fifo = d.path().join("pipe");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let e = format!("{:#}", build(d.path()).unwrap_err());
        assert!(e.contains("pipe is not a regular file"), "{e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (p, text) in files {
            let path = d.path().join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        d
    }

    #[test]
    fn same_folder_gives_the_same_bytes_twice() {
        let d = folder(&[("lambda_function.py", "x = 1\n"), ("lib/util.py", "y = 2\n")]);
        assert_eq!(build(d.path()).unwrap(), build(d.path()).unwrap());
    }

    #[test]
    fn timestamps_do_not_count() {
        let d = folder(&[("lambda_function.py", "x = 1\n")]);
        let before = build(d.path()).unwrap();
        let f = std::fs::File::options().write(true).open(d.path().join("lambda_function.py")).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(86_400 * 400)).unwrap();
        assert_eq!(build(d.path()).unwrap().sha256, before.sha256);
    }

    #[test]
    fn file_creation_order_does_not_count_but_content_does() {
        let a = folder(&[("a.py", "1"), ("b/c.py", "2"), ("z.py", "3")]);
        let b = folder(&[("z.py", "3"), ("b/c.py", "2"), ("a.py", "1")]);
        assert_eq!(build(a.path()).unwrap().sha256, build(b.path()).unwrap().sha256);
        let c = folder(&[("z.py", "3"), ("b/c.py", "2"), ("a.py", "1 ")]);
        assert_ne!(build(a.path()).unwrap().sha256, build(c.path()).unwrap().sha256);
    }

    #[test]
    fn caches_are_left_out_and_the_zip_is_readable() {
        let d = folder(&[("lambda_function.py", "x = 1\n"), ("__pycache__/lambda_function.cpython-312.pyc", "junk")]);
        let p = build(d.path()).unwrap();
        let mut z = zip::ZipArchive::new(Cursor::new(p.bytes.clone())).unwrap();
        assert_eq!(z.len(), 1);
        assert_eq!(z.by_index(0).unwrap().name().unwrap(), "lambda_function.py");
        // CodeSha256 is base64 of 32 bytes.
        assert_eq!(base64::engine::general_purpose::STANDARD.decode(&p.sha256).unwrap().len(), 32);
    }

    /// A zip as another tool makes it: deflated, with timestamps and folder entries.
    fn foreign_zip(entries: &[(&str, &str)], link: Option<(&str, &str)>) -> Vec<u8> {
        let mut z = ZipWriter::new(Cursor::new(Vec::new()));
        let o = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        z.add_directory("lib/", o).unwrap();
        for (name, text) in entries {
            z.start_file(*name, o).unwrap();
            z.write_all(text.as_bytes()).unwrap();
        }
        if let Some((name, target)) = link {
            z.add_symlink(name, target, o).unwrap();
        }
        z.finish().unwrap().into_inner()
    }

    #[test]
    fn a_deployed_zip_is_compared_by_its_files_not_its_bytes() {
        let d = folder(&[("lambda_function.py", "x = 1\n"), ("lib/util.py", "y = 2\n")]);
        let ours = read_zip(&build(d.path()).unwrap().bytes, "ours").unwrap();
        let same = read_zip(&foreign_zip(&[("lib/util.py", "y = 2\n"), ("lambda_function.py", "x = 1\n")], None), "theirs").unwrap();
        assert!(content_diff(&ours, &same).is_empty());
        let other = read_zip(&foreign_zip(&[("lambda_function.py", "x = 3\n"), ("extra.py", "")], None), "theirs").unwrap();
        assert_eq!(content_diff(&ours, &other), ["extra.py", "lambda_function.py", "lib/util.py"]);
    }

    #[test]
    fn a_zip_that_escapes_its_folder_or_holds_a_link_is_refused() {
        for bad in ["../evil.py", "/etc/evil.py", "lib/../../evil.py"] {
            let err = read_zip(&foreign_zip(&[(bad, "x")], None), "the code").unwrap_err().to_string();
            assert!(err.contains("would be written outside its folder") && err.contains(bad), "{bad}: {err}");
        }
        let err = read_zip(&foreign_zip(&[("a.py", "x")], Some(("link.py", "/etc/passwd"))), "the code").unwrap_err().to_string();
        assert!(err.contains("`link.py` is a symbolic link"), "{err}");
        assert!(read_zip(b"not a zip", "the code").unwrap_err().to_string().contains("not a readable zip"));
    }

    #[test]
    fn an_empty_folder_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        assert!(build(d.path()).is_err());
    }
}
