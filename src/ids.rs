//! Hex identifiers: hashes, client tokens, salts and lease tokens.

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
