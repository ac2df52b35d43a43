//! What a deploy applied, kept in the cluster so that `--atomic` and `rollback` put back exactly
//! those objects (promoted images, `--set` values and all) without rendering again. Stored as
//! gzipped JSON in Secrets beside the parent, as Helm keeps its releases: Secret data is never
//! shown in plain text, and each part stays well under the API server's 1 MiB limit.

use std::io::{Read, Write};
use std::path::PathBuf;

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::object::Origin;

/// The Secret type of snapshot parts.
pub const SNAPSHOT_TYPE: &str = "kpush.dev/snapshot";
/// The data key of each part.
const DATA_KEY: &str = "manifests.json.gz";
/// Bytes of compressed data per Secret: base64 and metadata stay under the 1 MiB limit.
const PART_BYTES: usize = 700 * 1024;

/// One object as the deploy applied it, with where it was rendered from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kept {
    pub file: PathBuf,
    pub line: u64,
    pub object: Value,
}

impl Kept {
    pub fn origin(&self) -> Origin {
        Origin {
            file: self.file.clone(),
            line: self.line,
        }
    }
}

/// The name of part `index` of revision `revision`'s snapshot, beside parent `parent`.
pub fn part_name(parent: &str, revision: u64, index: u32) -> String {
    format!("{parent}.rev{revision}.{index}")
}

/// The objects, compressed and cut into parts.
pub fn encode(objects: &[Kept]) -> Vec<Vec<u8>> {
    let json = serde_json::to_vec(objects).expect("objects serialise");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&json).expect("writing to memory");
    let bytes = gz.finish().expect("writing to memory");
    bytes.chunks(PART_BYTES).map(<[u8]>::to_vec).collect()
}

/// The objects back from their parts, in order.
pub fn decode(parts: &[Vec<u8>]) -> Result<Vec<Kept>, String> {
    let bytes = parts.concat();
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .read_to_end(&mut json)
        .map_err(|e| format!("the snapshot is damaged: {e}"))?;
    serde_json::from_slice(&json).map_err(|e| format!("the snapshot is damaged: {e}"))
}

/// The Secret that holds one part. No ApplySet label: a snapshot is never a member.
pub fn part_manifest(name: &str, namespace: &str, parent: &str, data: &[u8]) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "type": SNAPSHOT_TYPE,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "kpush"},
            "annotations": {"kpush.dev/snapshot-of": parent},
        },
        "data": {DATA_KEY: base64::engine::general_purpose::STANDARD.encode(data)},
    })
}

/// The data of a part as the server returns it.
pub fn part_data(secret: &Value) -> Result<Vec<u8>, String> {
    let text = secret["data"][DATA_KEY]
        .as_str()
        .ok_or_else(|| format!("{} holds no snapshot data", secret["metadata"]["name"]))?;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| format!("the snapshot is damaged: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` ConfigMaps, each with `size` characters of data that does not compress.
    fn kept(n: usize, size: usize) -> Vec<Kept> {
        let mut state = 0x2545_f491_u64;
        (0..n)
            .map(|i| {
                let noise: String = (0..size)
                    .map(|_| {
                        state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                        char::from(b'a' + ((state >> 33) % 26) as u8)
                    })
                    .collect();
                Kept {
                    file: format!("app/cm-{i}.yaml").into(),
                    line: 1,
                    object: json!({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": format!("cm-{i}")}, "data": {"v": noise}}),
                }
            })
            .collect()
    }

    #[test]
    fn objects_come_back_as_they_went_in() {
        let objects = kept(3, 10);
        let parts = encode(&objects);
        assert_eq!(parts.len(), 1);
        let secret = part_manifest("kpush-shop.rev2.0", "shop", "kpush-shop", &parts[0]);
        assert_eq!(secret["type"], SNAPSHOT_TYPE);
        assert!(
            secret["metadata"]["labels"]
                .get("applyset.kubernetes.io/part-of")
                .is_none()
        );
        let back = decode(&[part_data(&secret).unwrap()]).unwrap();
        assert_eq!(back, objects);
        assert_eq!(back[0].origin().to_string(), "app/cm-0.yaml:1");
    }

    #[test]
    fn a_large_deploy_is_cut_into_parts_that_fit_a_secret() {
        let objects = kept(400, 4000);
        let parts = encode(&objects);
        assert!(parts.len() > 1, "{} part(s)", parts.len());
        assert!(parts.iter().all(|p| p.len() <= PART_BYTES));
        assert_eq!(decode(&parts).unwrap(), objects);
        assert!(decode(&parts[..1]).is_err(), "a missing part is an error");
    }

    #[test]
    fn names_follow_the_parent() {
        assert_eq!(part_name("kpush-shop", 7, 0), "kpush-shop.rev7.0");
    }
}
