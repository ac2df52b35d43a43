//! SHA-256 in lowercase hex, as the `sha256` template filter and the config digest print it.

use std::fmt::Write;

pub fn sha256_hex(bytes: &[u8]) -> String {
    let hash = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut hex = String::with_capacity(64);
    for b in hash.as_ref() {
        write!(hex, "{b:02x}").expect("writing to a String");
    }
    hex
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_sha256sum() {
        assert_eq!(
            super::sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
