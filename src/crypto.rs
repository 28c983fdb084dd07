//! Secrets at rest (AES-256-GCM under the master key), the SDK's SipSecret form, and HMAC signatures.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// The prefix of every sealed value, so the format can change without guessing.
const SEALED_PREFIX: &str = "v1:";
const NONCE_LEN: usize = 12;

/// The server's 32-byte master key. Never printed.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(***)")
    }
}

impl MasterKey {
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self(key)
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn from_base64(text: &str) -> Result<Self, String> {
        let bytes = BASE64.decode(text.trim()).map_err(|_| "must be base64 of 32 random bytes".to_string())?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| "must be base64 of exactly 32 bytes".to_string())?;
        Ok(Self(key))
    }

    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }

    /// A key for one purpose, derived so that no two uses ever share key material.
    fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Encrypts a secret for storage. `context` (e.g. `apps.secret:<id>`) is bound to the
    /// ciphertext, so a sealed value copied into another row or column does not open.
    pub fn seal(&self, plaintext: &str, context: &str) -> Sealed {
        let cipher = Aes256Gcm::new_from_slice(&self.derive("at-rest")).expect("32-byte key");
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ciphertext = cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext.as_bytes(), aad: context.as_bytes() })
            .expect("AES-GCM encryption cannot fail for in-memory data");
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ciphertext);
        Sealed(format!("{SEALED_PREFIX}{}", BASE64.encode(blob)))
    }

    /// Decrypts a value sealed with [`MasterKey::seal`] under the same context.
    pub fn open(&self, sealed: &Sealed, context: &str) -> Result<String, CryptoError> {
        let encoded = sealed.0.strip_prefix(SEALED_PREFIX).ok_or(CryptoError::Malformed)?;
        let blob = BASE64.decode(encoded).map_err(|_| CryptoError::Malformed)?;
        if blob.len() < NONCE_LEN {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
        let cipher = Aes256Gcm::new_from_slice(&self.derive("at-rest")).expect("32-byte key");
        let plaintext = cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: context.as_bytes() })
            .map_err(|_| CryptoError::WrongKey)?;
        String::from_utf8(plaintext).map_err(|_| CryptoError::Malformed)
    }

    /// HMAC-SHA256 under a key derived for `purpose`, hex encoded (URL-safe).
    pub fn sign_hex(&self, purpose: &str, message: &str) -> String {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.derive(purpose)).expect("HMAC takes any key length");
        mac.update(message.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Checks a signature made by [`MasterKey::sign_hex`] in constant time.
    pub fn verify_hex(&self, purpose: &str, message: &str, signature: &str) -> bool {
        constant_time_eq(&self.sign_hex(purpose, message), signature)
    }
}

/// The secrets kept at rest; each is sealed bound to its field and row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretField {
    CustomerSecret,
    AppSecret,
    /// The app secret a rotation replaced, while its grace lasts (`POST /app/secret`).
    PreviousAppSecret,
    ExotelApiKey,
    ExotelApiToken,
    SipPassword,
    /// The key an app's passthru URLs carry (`GET /app/passthru`).
    PassthruKey,
}

impl SecretField {
    fn label(self) -> &'static str {
        match self {
            Self::CustomerSecret => "customers.secret",
            Self::AppSecret => "apps.secret",
            Self::PreviousAppSecret => "apps.previous_secret",
            Self::ExotelApiKey => "apps.exotel_api_key",
            Self::ExotelApiToken => "apps.exotel_api_token",
            Self::SipPassword => "user_mappings.sip_password",
            Self::PassthruKey => "apps.passthru_key",
        }
    }
}

impl MasterKey {
    /// Seals `plaintext` as the `field` of the row `row_id`.
    pub fn seal_field(&self, field: SecretField, row_id: &str, plaintext: &str) -> Sealed {
        self.seal(plaintext, &format!("{}:{row_id}", field.label()))
    }

    /// Opens the `field` of the row `row_id`.
    pub fn open_field(&self, field: SecretField, row_id: &str, sealed: &Sealed) -> Result<String, CryptoError> {
        self.open(sealed, &format!("{}:{row_id}", field.label()))
    }
}

/// A secret encrypted for storage. Only the store and [`MasterKey`] handle it.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed(pub String);

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealed(***)")
    }
}

impl From<String> for Sealed {
    fn from(text: String) -> Self {
        Self(text)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("sealed value is malformed")]
    Malformed,
    #[error("sealed value does not open with this master key (was MASTER_KEY changed?)")]
    WrongKey,
}

/// Compares two secrets without leaking, through timing, where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// SHA-256 of a token, hex encoded: the only form in which tokens are stored.
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The official CRM WebSDK's fixed key for `SipSecret`: ASCII "change this password to a secret".
pub const SDK_SIP_SECRET_KEY: &[u8; 32] = b"change this password to a secret";

/// Encrypts a SIP password the way the official WebSDK decrypts it:
/// hex(IV ‖ AES-256-CFB128(password)) under the SDK's fixed key, with a fresh IV each time.
pub fn sdk_sip_secret(password: &str) -> String {
    use cfb_mode::cipher::{AsyncStreamCipher, KeyIvInit};
    let mut iv = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut iv);
    let mut buffer = password.as_bytes().to_vec();
    cfb_mode::Encryptor::<aes::Aes256>::new(SDK_SIP_SECRET_KEY.into(), &iv.into()).encrypt(&mut buffer);
    let mut out = iv.to_vec();
    out.extend_from_slice(&buffer);
    hex::encode(out)
}

/// Signs a webhook the Standard Webhooks way: `v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`.
pub fn webhook_signature(secret: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_the_same_key_and_context() {
        let key = MasterKey::generate();
        let sealed = key.seal("s3cret", "apps.secret:1");
        assert!(!sealed.0.contains("s3cret"));
        assert_eq!(key.open(&sealed, "apps.secret:1").unwrap(), "s3cret");
        assert_eq!(key.open(&sealed, "apps.secret:2"), Err(CryptoError::WrongKey));
        assert_eq!(MasterKey::generate().open(&sealed, "apps.secret:1"), Err(CryptoError::WrongKey));
        assert_ne!(key.seal("s3cret", "x").0, key.seal("s3cret", "x").0, "a fresh nonce each time");
    }

    #[test]
    fn sip_secret_decrypts_the_way_the_sdk_does() {
        use cfb_mode::cipher::{AsyncStreamCipher, KeyIvInit};
        let secret = sdk_sip_secret("Str0ng!Pass");
        let bytes = hex::decode(&secret).unwrap();
        let (iv, ciphertext) = bytes.split_at(16);
        let mut plain = ciphertext.to_vec();
        let key = hex::decode("6368616e676520746869732070617373776f726420746f206120736563726574").unwrap();
        cfb_mode::Decryptor::<aes::Aes256>::new_from_slices(&key, iv).unwrap().decrypt(&mut plain);
        assert_eq!(String::from_utf8(plain).unwrap(), "Str0ng!Pass");
        assert_ne!(sdk_sip_secret("Str0ng!Pass"), secret, "a fresh IV each time");
    }

    #[test]
    fn signatures_verify_only_for_the_same_message() {
        let key = MasterKey::generate();
        let sig = key.sign_hex("callback", "app:call");
        assert!(key.verify_hex("callback", "app:call", &sig));
        assert!(!key.verify_hex("callback", "app:other", &sig));
        assert!(!key.verify_hex("other", "app:call", &sig));
    }
}
