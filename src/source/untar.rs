//! Unpacking a gzipped tar archive (a packaged Helm chart): regular files and directories,
//! with the long names of the ustar prefix, PAX `path` records and GNU `L` entries. Nothing
//! is written outside the destination.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

const BLOCK: usize = 512;

/// Unpacks `archive` (gzip over tar) under `dest`; returns the files written, relative.
pub fn unpack(archive: &[u8], dest: &Path) -> Result<Vec<PathBuf>, String> {
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(archive)
        .read_to_end(&mut tar)
        .map_err(|e| format!("not a gzip archive: {e}"))?;
    let mut written = Vec::new();
    let mut at = 0;
    let mut long_name: Option<String> = None;
    while at + BLOCK <= tar.len() {
        let header = &tar[at..at + BLOCK];
        if header.iter().all(|b| *b == 0) {
            break;
        }
        let size = octal(&header[124..136])?;
        let kind = header[156];
        let body_start = at + BLOCK;
        let body_end = body_start + size;
        if body_end > tar.len() {
            return Err("the archive ends inside an entry".into());
        }
        let body = &tar[body_start..body_end];
        at = body_start + size.div_ceil(BLOCK) * BLOCK;
        match kind {
            // GNU long name, PAX header: the name of the next entry.
            b'L' => long_name = Some(text(body)),
            b'x' => long_name = pax_path(body).or(long_name),
            b'g' => {}
            b'0' | 0 | b'5' => {
                let name = long_name.take().unwrap_or_else(|| ustar_name(header));
                let relative = safe(&name)?;
                let path = dest.join(&relative);
                if kind == b'5' || name.ends_with('/') {
                    std::fs::create_dir_all(&path).map_err(|e| e.to_string())?;
                    continue;
                }
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
                }
                std::fs::write(&path, body).map_err(|e| e.to_string())?;
                written.push(relative);
            }
            // Links and devices have no place in a chart.
            _ => long_name = None,
        }
    }
    Ok(written)
}

fn octal(field: &[u8]) -> Result<usize, String> {
    let digits: String = field
        .iter()
        .take_while(|b| **b != 0)
        .map(|b| *b as char)
        .collect();
    let digits = digits.trim();
    if digits.is_empty() {
        return Ok(0);
    }
    usize::from_str_radix(digits, 8).map_err(|_| format!("bad size field `{digits}`"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .trim_end_matches('\0')
        .to_string()
}

fn ustar_name(header: &[u8]) -> String {
    let name = text(&header[0..100]);
    let prefix = if &header[257..262] == b"ustar" {
        text(&header[345..500])
    } else {
        String::new()
    };
    if prefix.is_empty() {
        name
    } else {
        format!("{prefix}/{name}")
    }
}

/// The `path` record of a PAX extended header (`LEN path=VALUE\n`).
fn pax_path(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    text.lines().find_map(|line| {
        let (_, record) = line.split_once(' ')?;
        record.strip_prefix("path=").map(str::to_string)
    })
}

/// A relative path with no `..` or root: an archive may not write elsewhere.
fn safe(name: &str) -> Result<PathBuf, String> {
    let path = Path::new(name);
    let mut clean = PathBuf::new();
    for part in path.components() {
        match part {
            Component::Normal(p) => clean.push(p),
            Component::CurDir => {}
            _ => return Err(format!("the archive's entry `{name}` points outside it")),
        }
    }
    if clean.as_os_str().is_empty() {
        return Err(format!("the archive has an entry with no name: `{name}`"));
    }
    Ok(clean)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// A gzipped tar of `files` (ustar headers, names up to 100 bytes).
    pub fn archive(files: &[(&str, &str)]) -> Vec<u8> {
        let mut tar = Vec::new();
        for (name, content) in files {
            let mut header = [0u8; BLOCK];
            header[..name.len()].copy_from_slice(name.as_bytes());
            header[100..107].copy_from_slice(b"0000644");
            let size = format!("{:011o}", content.len());
            header[124..135].copy_from_slice(size.as_bytes());
            header[156] = b'0';
            header[257..262].copy_from_slice(b"ustar");
            tar.extend_from_slice(&header);
            tar.extend_from_slice(content.as_bytes());
            tar.resize(tar.len().div_ceil(BLOCK) * BLOCK, 0);
        }
        tar.extend_from_slice(&[0u8; BLOCK * 2]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&tar).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn files_unpack_under_the_destination() {
        let dir = tempfile::tempdir().unwrap();
        let written = unpack(
            &archive(&[
                ("web/Chart.yaml", "name: web\n"),
                ("web/templates/cm.yaml", "kind: ConfigMap\n"),
            ]),
            dir.path(),
        )
        .unwrap();
        assert_eq!(written.len(), 2);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("web/templates/cm.yaml")).unwrap(),
            "kind: ConfigMap\n"
        );
    }

    #[test]
    fn entries_outside_the_destination_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let error = unpack(&archive(&[("../evil", "x")]), dir.path()).unwrap_err();
        assert!(error.contains("outside"), "{error}");
        assert!(unpack(b"not gzip", dir.path()).is_err());
    }

    #[test]
    fn pax_records_name_the_next_entry() {
        assert_eq!(
            pax_path(b"30 mtime=1.0\n27 path=web/a/very/long/name\n"),
            Some("web/a/very/long/name".into())
        );
    }
}
