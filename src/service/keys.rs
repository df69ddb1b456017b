//! The laboratories' Ed25519 signing keys. A key is made for a laboratory the first time
//! it signs. Its private half is stored in the database sealed (XChaCha20-Poly1305) under
//! the key-encryption key the operator gives every instance
//! (`METROCAL_KEY_ENCRYPTION_KEY`, or a file named by `METROCAL_KEY_ENCRYPTION_KEY_FILE`;
//! on a single machine with neither, one is generated into the data directory with mode
//! 0600). The laboratory and the key id are authenticated with it, so a sealed key moved
//! to another laboratory's row does not open. The key-encryption key is never in the
//! database or a backup: any instance given it can sign, and nothing else can. The public
//! half stays in `lab_keys` after the key is rotated out, so that what it signed still
//! verifies.

use super::{Error, Result};
use crate::store::certificates as q;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sea_orm::ConnectionTrait;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The key-encryption key: 32 bytes, written as 64 hex digits.
#[derive(Clone)]
pub struct Kek {
    key: [u8; 32],
}

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Kek({})", self.id())
    }
}

/// The file a single machine's generated key-encryption key is kept in.
pub const KEK_FILE: &str = "key-encryption.key";

impl Kek {
    /// Reads 64 hex digits (surrounding white space allowed).
    pub fn from_hex(text: &str) -> std::result::Result<Kek, String> {
        let t = text.trim();
        let bytes: [u8; 32] = hex::decode(t)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| "a key-encryption key is 64 hexadecimal digits (32 bytes)".to_owned())?;
        Ok(Kek { key: bytes })
    }

    /// A new random key.
    pub fn generate() -> Kek {
        Kek { key: rand::random() }
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.key)
    }

    /// Which key this is, without revealing it: 16 hex digits of a SHA-256 over a label
    /// and the key.
    pub fn id(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"metrocal key-encryption key id\0");
        h.update(self.key);
        hex::encode(h.finalize())[..16].to_owned()
    }

    fn associated(lab: i32, key_id: &str) -> Vec<u8> {
        format!("metrocal laboratory signing key\0{lab}\0{key_id}").into_bytes()
    }

    /// Seals a private key of `lab` with id `key_id`: hex of a random 24-byte nonce and
    /// the ciphertext with its tag.
    pub fn seal(&self, lab: i32, key_id: &str, secret: &[u8; 32]) -> String {
        let cipher = XChaCha20Poly1305::new((&self.key).into());
        let nonce: [u8; 24] = rand::random();
        let aad = Kek::associated(lab, key_id);
        let ct = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: secret, aad: &aad })
            .expect("sealing 32 bytes cannot fail");
        let mut out = nonce.to_vec();
        out.extend(ct);
        hex::encode(out)
    }

    /// Opens what [`Kek::seal`] sealed for the same laboratory and key id; None when the
    /// key-encryption key, the laboratory, the key id or a byte of it differs.
    pub fn open(&self, lab: i32, key_id: &str, sealed: &str) -> Option<[u8; 32]> {
        let bytes = hex::decode(sealed.trim()).ok()?;
        if bytes.len() < 24 {
            return None;
        }
        let (nonce, ct) = bytes.split_at(24);
        let cipher = XChaCha20Poly1305::new((&self.key).into());
        let aad = Kek::associated(lab, key_id);
        let plain = cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
            .ok()?;
        plain.try_into().ok()
    }
}

/// Where the key-encryption key came from.
#[derive(Debug, Clone, PartialEq)]
pub enum KekSource {
    /// METROCAL_KEY_ENCRYPTION_KEY.
    Given,
    /// The file METROCAL_KEY_ENCRYPTION_KEY_FILE names.
    File(PathBuf),
    /// Generated on this machine into the data directory (a single-machine install).
    Generated(PathBuf),
}

impl KekSource {
    /// Whether the operator gave it (as every instance of a shared database needs).
    pub fn given(&self) -> bool {
        !matches!(self, KekSource::Generated(_))
    }
}

/// The key-encryption key of `config`: given, from its file, or (neither) the one
/// generated into the data directory on first start with mode 0600.
pub fn load_kek(config: &crate::config::AppConfig) -> std::result::Result<(Kek, KekSource), String> {
    if let Some(text) = config.key_encryption_key.as_deref().filter(|t| !t.trim().is_empty()) {
        return Kek::from_hex(text)
            .map(|k| (k, KekSource::Given))
            .map_err(|e| format!("METROCAL_KEY_ENCRYPTION_KEY: {e}"));
    }
    if let Some(path) = &config.key_encryption_key_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("METROCAL_KEY_ENCRYPTION_KEY_FILE {}: {e}", path.display()))?;
        return Kek::from_hex(&text)
            .map(|k| (k, KekSource::File(path.clone())))
            .map_err(|e| format!("METROCAL_KEY_ENCRYPTION_KEY_FILE {}: {e}", path.display()));
    }
    generated_kek(&config.data_dir).map(|(k, p)| (k, KekSource::Generated(p)))
}

/// The key-encryption key kept in `dir`, made there on first use (mode 0600).
pub fn generated_kek(dir: &Path) -> std::result::Result<(Kek, PathBuf), String> {
    let path = dir.join(KEK_FILE);
    if let Ok(text) = std::fs::read_to_string(&path) {
        return Kek::from_hex(&text)
            .map(|k| (k, path.clone()))
            .map_err(|e| format!("{}: {e}", path.display()));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let kek = Kek::generate();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&path).and_then(|mut f| {
        f.write_all(format!("{}\n", kek.to_hex()).as_bytes())?;
        f.sync_all()
    });
    match written {
        Ok(()) => Ok((kek, path)),
        // Another process made it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => generated_kek(dir),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Where the private keys live: sealed in the database, under the key-encryption key.
#[derive(Debug, Clone)]
pub struct KeyStore {
    /// Where key files of before sealed keys were kept, to migrate them.
    dir: PathBuf,
    kek: Kek,
    /// The server's public address: what an issued certificate's QR code points to.
    public_url: String,
}

/// What a server that cannot open its laboratories' keys answers, plainly.
fn cannot_sign(lab: i32, key_id: &str, why: &str) -> Error {
    Error::Conflict {
        code: "keys.cannot_sign",
        message: format!(
            "this server cannot sign: the signing key {key_id} of laboratory {lab} {why}. Give every instance \
             the key-encryption key it was sealed with (METROCAL_KEY_ENCRYPTION_KEY or \
             METROCAL_KEY_ENCRYPTION_KEY_FILE; docs/operations.md)"
        ),
        fields: vec![],
    }
}

impl KeyStore {
    /// The key store of a single machine: the key-encryption key kept in `data_dir`.
    pub fn new(data_dir: &Path) -> KeyStore {
        let kek = generated_kek(data_dir).map(|(k, _)| k).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the key-encryption key cannot be kept in the data directory");
            Kek::generate()
        });
        KeyStore::with_kek(data_dir, kek)
    }

    /// The key store with the key-encryption key given.
    pub fn with_kek(data_dir: &Path, kek: Kek) -> KeyStore {
        KeyStore {
            dir: data_dir.join("keys"),
            kek,
            public_url: crate::config::DEFAULT_PUBLIC_URL.into(),
        }
    }

    /// The key store `config` describes.
    pub fn from_config(config: &crate::config::AppConfig) -> std::result::Result<KeyStore, String> {
        let (kek, _) = load_kek(config)?;
        Ok(KeyStore::with_kek(&config.data_dir, kek).with_public_url(&config.public_url))
    }

    /// The same store, for certificates that point to `public_url`.
    pub fn with_public_url(mut self, public_url: &str) -> KeyStore {
        self.public_url = public_url.trim_end_matches('/').to_owned();
        self
    }

    /// The server's public address.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The public verification page of a certificate, for its QR code.
    pub fn verify_url(&self, token: &str) -> String {
        format!("{}/verify/{token}", self.public_url)
    }

    /// The id of the key-encryption key in use.
    pub fn kek_id(&self) -> String {
        self.kek.id()
    }

    fn legacy_path(&self, lab: i32, key_id: &str) -> PathBuf {
        self.dir.join(format!("lab-{lab}-{key_id}.ed25519"))
    }

    fn read_legacy(&self, lab: i32, key_id: &str) -> Option<[u8; 32]> {
        let text = std::fs::read_to_string(self.legacy_path(lab, key_id)).ok()?;
        hex::decode(text.trim()).ok()?.try_into().ok()
    }

    fn open(&self, k: &crate::store::entities::lab_key::Model) -> Result<SigningKey> {
        match (&k.sealed_private, &k.kek_id) {
            (Some(sealed), kek_id) => {
                if kek_id.as_deref().is_some_and(|id| id != self.kek.id()) {
                    return Err(cannot_sign(
                        k.lab_id,
                        &k.key_id,
                        "is sealed under another key-encryption key than this server was given",
                    ));
                }
                let secret = self.kek.open(k.lab_id, &k.key_id, sealed).ok_or_else(|| {
                    cannot_sign(
                        k.lab_id,
                        &k.key_id,
                        "does not open with this server's key-encryption key",
                    )
                })?;
                Ok(SigningKey::from_bytes(&secret))
            }
            (None, _) => self
                .read_legacy(k.lab_id, &k.key_id)
                .map(|s| SigningKey::from_bytes(&s))
                .ok_or_else(|| {
                    cannot_sign(
                        k.lab_id,
                        &k.key_id,
                        "is neither in the database nor in this server's key store",
                    )
                }),
        }
    }

    /// Makes a new key for `lab`, sealed into the database; when another instance made
    /// the laboratory's key at the same moment, that one is used instead.
    async fn create(&self, db: &impl ConnectionTrait, lab: i32, now: DateTime<Utc>) -> Result<(String, SigningKey)> {
        let secret: [u8; 32] = rand::random();
        let key = SigningKey::from_bytes(&secret);
        let public = key.verifying_key().to_bytes();
        let key_id = key_id(&public);
        let sealed = self.kek.seal(lab, &key_id, &secret);
        q::insert_key(db, lab, &key_id, &hex::encode(public), (&sealed, &self.kek.id()), now).await?;
        let active = q::active_key(db, lab)
            .await?
            .ok_or_else(|| Error::Internal(format!("laboratory {lab} has no active key after making one")))?;
        if active.key_id == key_id {
            Ok((key_id, key))
        } else {
            Ok((active.key_id.clone(), self.open(&active)?))
        }
    }

    /// The laboratory's current key, made on first use.
    pub async fn signing_key(
        &self,
        db: &impl ConnectionTrait,
        lab: i32,
        now: DateTime<Utc>,
    ) -> Result<(String, SigningKey)> {
        match q::active_key(db, lab).await? {
            Some(k) => Ok((k.key_id.clone(), self.open(&k)?)),
            None => self.create(db, lab, now).await,
        }
    }

    /// Retires the laboratory's current key and makes a new one. The old public key
    /// stays, so certificates it signed still verify.
    pub async fn rotate(&self, db: &impl ConnectionTrait, lab: i32, now: DateTime<Utc>) -> Result<String> {
        q::retire_keys(db, lab, now).await?;
        Ok(self.create(db, lab, now).await?.0)
    }

    /// Seals into the database every key still kept as a file of the key store (from
    /// before keys were sealed), then removes the files. Returns how many.
    pub async fn migrate_files(&self, db: &impl ConnectionTrait) -> Result<usize> {
        let mut moved = Vec::new();
        for k in q::all_keys(db).await? {
            if k.sealed_private.is_some() {
                continue;
            }
            if let Some(secret) = self.read_legacy(k.lab_id, &k.key_id) {
                let sealed = self.kek.seal(k.lab_id, &k.key_id, &secret);
                q::seal_key(db, k.id, &sealed, &self.kek.id()).await?;
                moved.push(self.legacy_path(k.lab_id, &k.key_id));
            }
        }
        for path in &moved {
            if let Err(e) = std::fs::remove_file(path) {
                tracing::warn!(path = %path.display(), error = %e, "a migrated key file could not be removed");
            }
        }
        Ok(moved.len())
    }

    /// Re-seals every key under `new` (the operator's rotation of the key-encryption
    /// key), in the caller's transaction. Every key must open under this store's key
    /// first; nothing is changed otherwise. Returns how many were re-sealed.
    pub async fn reseal(&self, db: &impl ConnectionTrait, new: &Kek) -> Result<usize> {
        let keys = q::all_keys(db).await?;
        let mut sealed = Vec::new();
        for k in &keys {
            let Some(s) = &k.sealed_private else { continue };
            let secret = self
                .kek
                .open(k.lab_id, &k.key_id, s)
                .ok_or_else(|| cannot_sign(k.lab_id, &k.key_id, "does not open with the current key-encryption key"))?;
            sealed.push((k.id, new.seal(k.lab_id, &k.key_id, &secret)));
        }
        for (id, s) in &sealed {
            q::seal_key(db, *id, s, &new.id()).await?;
        }
        Ok(sealed.len())
    }
}

/// A key's id: the first 16 hex digits of its public key's SHA-256.
pub fn key_id(public: &[u8; 32]) -> String {
    hex::encode(Sha256::digest(public))[..16].to_owned()
}

pub fn sign(key: &SigningKey, message: &[u8]) -> String {
    hex::encode(key.sign(message).to_bytes())
}

/// Whether `signature` (hex) is the signature of `message` by the public key (hex).
pub fn verify(public_hex: &str, message: &[u8], signature_hex: &str) -> bool {
    let Some(public) = hex::decode(public_hex).ok().and_then(|b| <[u8; 32]>::try_from(b).ok()) else {
        return false;
    };
    let Some(sig) = hex::decode(signature_hex)
        .ok()
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
    else {
        return false;
    };
    let Ok(key) = VerifyingKey::from_bytes(&public) else {
        return false;
    };
    key.verify(message, &Signature::from_bytes(&sig)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_key_opens_only_with_its_kek_laboratory_and_id() {
        let kek = Kek::generate();
        let secret: [u8; 32] = rand::random();
        let sealed = kek.seal(7, "0123456789abcdef", &secret);
        assert_eq!(kek.open(7, "0123456789abcdef", &sealed), Some(secret));
        // Another laboratory's row, another key id, another KEK, a flipped byte: no.
        assert_eq!(kek.open(8, "0123456789abcdef", &sealed), None);
        assert_eq!(kek.open(7, "0123456789abcdee", &sealed), None);
        assert_eq!(Kek::generate().open(7, "0123456789abcdef", &sealed), None);
        let mut bad = hex::decode(&sealed).unwrap();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(kek.open(7, "0123456789abcdef", &hex::encode(bad)), None);
        // Two seals of one key differ (a fresh nonce each time).
        assert_ne!(sealed, kek.seal(7, "0123456789abcdef", &secret));
        assert!(Kek::from_hex("abc").is_err());
        assert_eq!(Kek::from_hex(&kek.to_hex()).unwrap().id(), kek.id());
    }

    #[test]
    fn rfc8032_test_vector_1() {
        // RFC 8032 §7.1, TEST 1: the empty message.
        let secret: [u8; 32] = hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
            .unwrap()
            .try_into()
            .unwrap();
        let key = SigningKey::from_bytes(&secret);
        let public = hex::encode(key.verifying_key().to_bytes());
        assert_eq!(
            public,
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        let sig = sign(&key, b"");
        assert_eq!(
            sig,
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        assert!(verify(&public, b"", &sig));
        assert!(!verify(&public, b"x", &sig));
        let mut bad = sig.clone().into_bytes();
        bad[0] = if bad[0] == b'e' { b'f' } else { b'e' };
        assert!(!verify(&public, b"", std::str::from_utf8(&bad).unwrap()));
    }
}
