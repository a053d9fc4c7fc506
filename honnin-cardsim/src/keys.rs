//! The simulator's RSA-2048 keys, made by the simulator itself: random, or from
//! a seed (ChaCha20) and then optionally kept in a cache folder, since making
//! four keys takes a second or more (much more in a debug build).

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::RsaPrivateKey;
use std::path::Path;

/// One key per role.
pub(crate) struct Keys {
    /// The chip's own key: public part in `DF24`, signs the chip challenge.
    pub card: RsaPrivateKey,
    /// The card-surface signer: certified in EF `0004`, signs `DF28`.
    pub surface: RsaPrivateKey,
    /// The test CA: signs EF `0004` (`5F37`) and issues EF `000A`; its
    /// self-signed certificate is what `--export` writes as `ca.der`.
    pub ca: RsaPrivateKey,
    /// The JPKI user-authentication key (EF `0017`), certified in EF `000A`.
    pub jpki: RsaPrivateKey,
}

const ROLES: [&str; 4] = ["card", "surface", "ca", "jpki"];

impl Keys {
    /// Makes the keys (from `seed` when given), or loads them from `cache`
    /// (which needs a seed: the file names carry it).
    pub(crate) fn load_or_make(seed: Option<u64>, cache: Option<&Path>) -> Result<Keys, String> {
        let mut keys = Vec::with_capacity(ROLES.len());
        for (index, role) in ROLES.iter().enumerate() {
            let key = match (seed, cache) {
                (Some(seed), Some(dir)) => cached(dir, seed, index as u64, role)?,
                (Some(seed), None) => make(Some(seed.wrapping_mul(16).wrapping_add(index as u64)))?,
                (None, None) => make(None)?,
                (None, Some(_)) => return Err("--key-cache needs --seed".into()),
            };
            keys.push(key);
        }
        let [card, surface, ca, jpki]: [RsaPrivateKey; 4] = keys.try_into().map_err(|_| "four keys")?;
        Ok(Keys { card, surface, ca, jpki })
    }
}

fn make(seed: Option<u64>) -> Result<RsaPrivateKey, String> {
    let mut rng = match seed {
        Some(seed) => ChaCha20Rng::seed_from_u64(seed),
        None => ChaCha20Rng::from_rng(rand_core::OsRng).map_err(|e| format!("no system randomness: {e}"))?,
    };
    RsaPrivateKey::new(&mut rng, 2048).map_err(|e| format!("RSA key generation failed: {e}"))
}

/// The key of `role` for `seed` from `dir`, made and written there (atomically:
/// a temporary file renamed) when missing or unreadable.
fn cached(dir: &Path, seed: u64, index: u64, role: &str) -> Result<RsaPrivateKey, String> {
    let path = dir.join(format!("seed-{seed}-{role}.pk8"));
    if let Ok(der) = std::fs::read(&path) {
        if let Ok(key) = RsaPrivateKey::from_pkcs8_der(&der) {
            return Ok(key);
        }
    }
    let key = make(Some(seed.wrapping_mul(16).wrapping_add(index)))?;
    // A cache that cannot be written only costs time next run.
    if let Err(err) = store(dir, &path, seed, role, &key) {
        eprintln!("honnin-cardsim: not caching the {role} key: {err}");
    }
    Ok(key)
}

fn store(dir: &Path, path: &Path, seed: u64, role: &str, key: &RsaPrivateKey) -> Result<(), String> {
    let der = key.to_pkcs8_der().map_err(|e| format!("encoding a key: {e}"))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let tmp = dir.join(format!(".seed-{seed}-{role}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, der.as_bytes()).and_then(|()| std::fs::rename(&tmp, path)).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("writing {}: {e}", path.display())
    })
}
