//! Hex identifiers: hashes, client tokens, salts and lease tokens.

/// The SHA-256 of a value's JSON, in hex: live fingerprints (saved plans) and salted hashes of
/// sensitive values.
pub fn hash<T: serde::Serialize>(v: &T) -> String {
    use sha2::{Digest, Sha256};
    let text = serde_json::to_string(v).unwrap_or_default();
    hex(&Sha256::digest(text.as_bytes()))
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 16 random bytes as hex (a salt or a token nobody else holds).
pub fn random_hex() -> anyhow::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|e| anyhow::anyhow!("cannot get random bytes from the system: {e}"))?;
    Ok(hex(&bytes))
}
