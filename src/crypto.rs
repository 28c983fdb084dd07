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

/// The prefix of a sealed value that names its key: `v2:<key id>:<base64 of nonce ‖ ciphertext>`.
const SEALED_PREFIX: &str = "v2:";
/// The prefix of values sealed before key ids existed (`v1:<base64>`): read by trying each key.
const LEGACY_PREFIX: &str = "v1:";
const NONCE_LEN: usize = 12;

/// The server's 32-byte master key. Never printed.
#[derive(Clone)]
pub struct MasterKey {
    bytes: [u8; 32],
    /// [`MasterKey::id`], derived once.
    id: String,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(***)")
    }
}

impl MasterKey {
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self::from_bytes(key)
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let mut key = Self { bytes, id: String::new() };
        key.id = hex::encode(&key.derive("key-id")[..8]);
        key
    }

    pub fn from_base64(text: &str) -> Result<Self, String> {
        let bytes = BASE64.decode(text.trim()).map_err(|_| "must be base64 of 32 random bytes".to_string())?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| "must be base64 of exactly 32 bytes".to_string())?;
        Ok(Self::from_bytes(key))
    }

    pub fn to_base64(&self) -> String {
        BASE64.encode(self.bytes)
    }

    /// The key's public name, stored in every value it seals: 16 hex digits derived from the key
    /// (a one-way function of it, so naming it reveals nothing).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A key for one purpose, derived so that no two uses ever share key material.
    fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.bytes).expect("HMAC takes any key length");
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
        Sealed(format!("{SEALED_PREFIX}{}:{}", self.id(), BASE64.encode(blob)))
    }

    /// Decrypts a value sealed with [`MasterKey::seal`] under the same context: one that names
    /// this key, or a legacy `v1:` value (which names none).
    pub fn open(&self, sealed: &Sealed, context: &str) -> Result<String, CryptoError> {
        match sealed.form()? {
            SealedForm::Named { key_id, .. } if key_id != self.id() => Err(CryptoError::UnknownKey(key_id.to_string())),
            SealedForm::Named { encoded, .. } | SealedForm::Legacy { encoded } => self.decrypt(encoded, context),
        }
    }

    fn decrypt(&self, encoded: &str, context: &str) -> Result<String, CryptoError> {
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
    /// The known value that proves, at start-up, that the configured keys open this database.
    KeyCheck,
}

impl SecretField {
    /// Every sealed column, in the order `rekey` re-seals them: the key check last, so that it moves
    /// to the new key only once everything else has.
    pub const ALL: [SecretField; 8] = [
        Self::CustomerSecret,
        Self::AppSecret,
        Self::PreviousAppSecret,
        Self::ExotelApiKey,
        Self::ExotelApiToken,
        Self::SipPassword,
        Self::PassthruKey,
        Self::KeyCheck,
    ];

    /// Where the field is stored, as `table.column`; also the context it is sealed under.
    pub fn label(self) -> &'static str {
        match self {
            Self::CustomerSecret => "customers.secret",
            Self::AppSecret => "apps.secret",
            Self::PreviousAppSecret => "apps.previous_secret",
            Self::ExotelApiKey => "apps.exotel_api_key",
            Self::ExotelApiToken => "apps.exotel_api_token",
            Self::SipPassword => "user_mappings.sip_password",
            Self::PassthruKey => "apps.passthru_key",
            Self::KeyCheck => "key_check.sealed",
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

/// How a sealed value names (or, from before key ids, does not name) the key that sealed it.
enum SealedForm<'a> {
    Named { key_id: &'a str, encoded: &'a str },
    Legacy { encoded: &'a str },
}

impl Sealed {
    fn form(&self) -> Result<SealedForm<'_>, CryptoError> {
        if let Some(rest) = self.0.strip_prefix(SEALED_PREFIX) {
            let (key_id, encoded) = rest.split_once(':').ok_or(CryptoError::Malformed)?;
            Ok(SealedForm::Named { key_id, encoded })
        } else if let Some(encoded) = self.0.strip_prefix(LEGACY_PREFIX) {
            Ok(SealedForm::Legacy { encoded })
        } else {
            Err(CryptoError::Malformed)
        }
    }

    /// The id of the key that sealed this value; `None` for a legacy value, which names none.
    pub fn key_id(&self) -> Option<&str> {
        match self.form() {
            Ok(SealedForm::Named { key_id, .. }) => Some(key_id),
            _ => None,
        }
    }
}

/// The master keys a server holds: `MASTER_KEY`, which seals every new value, and the keys of
/// `MASTER_KEY_PREVIOUS`, still accepted for reading while `rekey` moves their values over.
/// A value names its key, so reading one picks that key; only legacy values are tried on each.
#[derive(Clone, Debug)]
pub struct Keyring {
    current: MasterKey,
    previous: Vec<MasterKey>,
}

impl Keyring {
    pub fn new(current: MasterKey, previous: Vec<MasterKey>) -> Self {
        Self { current, previous }
    }

    /// The key new values are sealed under.
    pub fn current(&self) -> &MasterKey {
        &self.current
    }

    /// Every key, the current one first.
    fn keys(&self) -> impl Iterator<Item = &MasterKey> {
        std::iter::once(&self.current).chain(&self.previous)
    }

    /// Whether `sealed` is already under the current key (nothing for `rekey` to do).
    pub fn is_current(&self, sealed: &Sealed) -> bool {
        sealed.key_id() == Some(self.current.id())
    }

    /// Seals `plaintext` as the `field` of the row `row_id`, under the current key.
    pub fn seal_field(&self, field: SecretField, row_id: &str, plaintext: &str) -> Sealed {
        self.current.seal_field(field, row_id, plaintext)
    }

    /// Opens the `field` of the row `row_id` with the key it names (each key in turn for a legacy value).
    /// A value no key opens is an error naming the field and the row, for the log line of the 500.
    pub fn open_field(&self, field: SecretField, row_id: &str, sealed: &Sealed) -> Result<String, CryptoError> {
        self.open_with_named_key(field, row_id, sealed).map_err(|reason| CryptoError::Unopenable {
            field: field.label(),
            row: row_id.to_string(),
            reason: Box::new(reason),
        })
    }

    fn open_with_named_key(&self, field: SecretField, row_id: &str, sealed: &Sealed) -> Result<String, CryptoError> {
        match sealed.form()? {
            SealedForm::Named { key_id, .. } => {
                let key = self.keys().find(|key| key.id() == key_id);
                key.ok_or_else(|| CryptoError::UnknownKey(key_id.to_string()))?.open_field(field, row_id, sealed)
            }
            SealedForm::Legacy { .. } => {
                let mut keys = self.keys();
                let first = keys.next().expect("a keyring holds its current key").open_field(field, row_id, sealed);
                keys.fold(first, |opened, key| opened.or_else(|_| key.open_field(field, row_id, sealed)))
            }
        }
    }

    /// Signs with the current key ([`MasterKey::sign_hex`]).
    pub fn sign_hex(&self, purpose: &str, message: &str) -> String {
        self.current.sign_hex(purpose, message)
    }

    /// Accepts a signature made by any key of the ring, so that URLs signed before a rotation still work.
    pub fn verify_hex(&self, purpose: &str, message: &str, signature: &str) -> bool {
        self.keys().any(|key| key.verify_hex(purpose, message, signature))
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("sealed value is malformed")]
    Malformed,
    #[error("sealed value does not open with this master key (was MASTER_KEY changed?)")]
    WrongKey,
    #[error("sealed value names the master key {0}, which is neither MASTER_KEY nor in MASTER_KEY_PREVIOUS")]
    UnknownKey(String),
    #[error("{field} of {row}: {reason}")]
    Unopenable { field: &'static str, row: String, reason: Box<CryptoError> },
}

impl CryptoError {
    /// What went wrong, without the field and row an [`CryptoError::Unopenable`] adds.
    pub fn reason(&self) -> &CryptoError {
        match self {
            Self::Unopenable { reason, .. } => reason,
            other => other,
        }
    }
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
        assert_eq!(
            MasterKey::generate().open(&sealed, "apps.secret:1"),
            Err(CryptoError::UnknownKey(key.id().to_string()))
        );
        assert_ne!(key.seal("s3cret", "x").0, key.seal("s3cret", "x").0, "a fresh nonce each time");
    }

    #[test]
    fn a_sealed_value_names_its_key_and_opens_with_the_ring_that_holds_it() {
        let old = MasterKey::generate();
        let new = MasterKey::generate();
        let sealed = old.seal_field(SecretField::AppSecret, "app1", "s3cret");
        assert_eq!(sealed.key_id(), Some(old.id()));
        assert_eq!(sealed.0.split(':').nth(1), Some(old.id()), "v2:<key id>:<ciphertext>");

        let rotating = Keyring::new(new.clone(), vec![old.clone()]);
        assert_eq!(rotating.open_field(SecretField::AppSecret, "app1", &sealed).unwrap(), "s3cret");
        assert!(!rotating.is_current(&sealed));
        let resealed = rotating.seal_field(SecretField::AppSecret, "app1", "s3cret");
        assert!(rotating.is_current(&resealed));

        let new_only = Keyring::new(new.clone(), vec![]);
        let unknown = new_only.open_field(SecretField::AppSecret, "app1", &sealed).unwrap_err();
        assert_eq!(
            unknown.reason(),
            &CryptoError::UnknownKey(old.id().to_string()),
            "a value names its key: no trial of the others"
        );
        assert_eq!(
            unknown.to_string(),
            format!("apps.secret of app1: sealed value names the master key {}, which is neither MASTER_KEY nor in MASTER_KEY_PREVIOUS", old.id())
        );
        let moved = new_only.open_field(SecretField::AppSecret, "app2", &resealed).unwrap_err();
        assert_eq!(moved.reason(), &CryptoError::WrongKey);
    }

    #[test]
    fn legacy_values_without_a_key_id_open_with_whichever_key_sealed_them() {
        let old = MasterKey::generate();
        let new = MasterKey::generate();
        // The v1 form: "v1:" + base64(nonce ‖ ciphertext), as databases written before key ids hold.
        let named = old.seal_field(SecretField::CustomerSecret, "c1", "legacy");
        let legacy = Sealed(format!("v1:{}", named.0.rsplit(':').next().unwrap()));
        assert_eq!(legacy.key_id(), None);
        assert_eq!(
            Keyring::new(new.clone(), vec![old.clone()])
                .open_field(SecretField::CustomerSecret, "c1", &legacy)
                .unwrap(),
            "legacy"
        );
        assert_eq!(
            Keyring::new(old.clone(), vec![]).open_field(SecretField::CustomerSecret, "c1", &legacy).unwrap(),
            "legacy"
        );
        let wrong = Keyring::new(new, vec![]).open_field(SecretField::CustomerSecret, "c1", &legacy).unwrap_err();
        assert_eq!(wrong.reason(), &CryptoError::WrongKey);
        assert_eq!(old.open(&Sealed("v3:whatever".into()), "c"), Err(CryptoError::Malformed));
    }

    #[test]
    fn signatures_of_any_key_in_the_ring_verify_and_new_ones_use_the_current_key() {
        let old = MasterKey::generate();
        let new = MasterKey::generate();
        let ring = Keyring::new(new.clone(), vec![old.clone()]);
        assert!(ring.verify_hex("callback", "m", &old.sign_hex("callback", "m")));
        assert_eq!(ring.sign_hex("callback", "m"), new.sign_hex("callback", "m"));
        assert!(!Keyring::new(new, vec![]).verify_hex("callback", "m", &old.sign_hex("callback", "m")));
    }

    #[test]
    fn a_v1_value_sealed_before_key_ids_existed_still_opens() {
        // Made outside this code (Python's `cryptography`): AES-256-GCM under HMAC-SHA256(key, "at-rest"),
        // nonce 00..0b, AAD "customers.secret:c1" — the form every database written before key ids holds.
        let legacy = Sealed("v1:AAECAwQFBgcICQoLOk5VQTHgryqyG+nkDvTw+Dp1bHICNz5h6s2xGBg=".into());
        let ring = Keyring::new(MasterKey::generate(), vec![MasterKey::from_bytes([7; 32])]);
        assert_eq!(ring.open_field(SecretField::CustomerSecret, "c1", &legacy).unwrap(), "legacy secret");
        assert_eq!(MasterKey::from_bytes([7; 32]).id(), "4980c225bd87eabd", "HMAC-SHA256(key, \"key-id\")[..8]");
    }

    #[test]
    fn key_ids_differ_between_keys_and_stay_the_same_for_one_key() {
        let key = MasterKey::from_bytes([7; 32]);
        assert_eq!(key.id(), MasterKey::from_bytes([7; 32]).id());
        assert_ne!(key.id(), MasterKey::from_bytes([8; 32]).id());
        assert_eq!(key.id().len(), 16);
        assert!(!key.id().contains(&key.to_base64()));
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
