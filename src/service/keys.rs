//! The laboratories' Ed25519 signing keys. A key is made for a laboratory the first time
//! it signs; its private half is a file of the key store (`data/keys/`, mode 0600),
//! never in the database; its public half is in `lab_keys`, where it stays after the key
//! is rotated out, so that what it signed still verifies.

use super::{Error, Result};
use crate::store::certificates as q;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sea_orm::ConnectionTrait;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where the private keys live.
#[derive(Debug, Clone)]
pub struct KeyStore {
    dir: PathBuf,
    /// The server's public address: what an issued certificate's QR code points to.
    public_url: String,
}

impl KeyStore {
    /// The key store under the data directory.
    pub fn new(data_dir: &Path) -> KeyStore {
        KeyStore {
            dir: data_dir.join("keys"),
            public_url: crate::config::DEFAULT_PUBLIC_URL.into(),
        }
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

    fn path(&self, lab: i32, key_id: &str) -> PathBuf {
        self.dir.join(format!("lab-{lab}-{key_id}.ed25519"))
    }

    fn read(&self, lab: i32, key_id: &str) -> Result<SigningKey> {
        let path = self.path(lab, key_id);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::Internal(format!("the signing key {} cannot be read: {e}", path.display())))?;
        let bytes: [u8; 32] = hex::decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| Error::Internal(format!("the signing key {} is damaged", path.display())))?;
        Ok(SigningKey::from_bytes(&bytes))
    }

    /// Makes a new key for `lab`: the private half written once with mode 0600, the
    /// public half recorded. Returns its id.
    async fn create(&self, db: &impl ConnectionTrait, lab: i32, now: DateTime<Utc>) -> Result<(String, SigningKey)> {
        use rand::RngCore;
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        let key = SigningKey::from_bytes(&secret);
        let public = key.verifying_key().to_bytes();
        let key_id = key_id(&public);
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| Error::Internal(format!("the key store {} cannot be made: {e}", self.dir.display())))?;
        let path = self.path(lab, &key_id);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&path)
            .map_err(|e| Error::Internal(format!("the signing key {} cannot be written: {e}", path.display())))?;
        file.write_all(format!("{}\n", hex::encode(secret)).as_bytes())
            .and_then(|_| file.sync_all())
            .map_err(|e| Error::Internal(format!("the signing key {} cannot be written: {e}", path.display())))?;
        q::insert_key(db, lab, &key_id, &hex::encode(public), now).await?;
        Ok((key_id, key))
    }

    /// The laboratory's current key, made on first use.
    pub async fn signing_key(
        &self,
        db: &impl ConnectionTrait,
        lab: i32,
        now: DateTime<Utc>,
    ) -> Result<(String, SigningKey)> {
        match q::active_key(db, lab).await? {
            Some(k) => Ok((k.key_id.clone(), self.read(lab, &k.key_id)?)),
            None => self.create(db, lab, now).await,
        }
    }

    /// Retires the laboratory's current key and makes a new one. The old public key
    /// stays, so certificates it signed still verify.
    pub async fn rotate(&self, db: &impl ConnectionTrait, lab: i32, now: DateTime<Utc>) -> Result<String> {
        q::retire_keys(db, lab, now).await?;
        Ok(self.create(db, lab, now).await?.0)
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
