//! The upstream: what the server asks of Exotel, over its CCM API or the built-in sandbox.

use std::time::Duration;

use rand::seq::SliceRandom;
use rand::Rng;

use crate::config::Config;
use crate::crypto::{CryptoError, Keyring, SecretField};
use crate::domain::ExotelDomain;
use crate::store::AppRow;

mod ccm;
pub mod events;
mod sandbox;

pub use ccm::CcmClient;
pub use sandbox::{InboundOutcome, InboundStep, Sandbox, SandboxCallOutcome, SimulatedInboundCall};

/// The Exotel account an app acts for.
#[derive(Clone)]
pub struct Credentials {
    pub account_sid: String,
    pub api_key: String,
    pub api_token: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("account_sid", &self.account_sid).finish_non_exhaustive()
    }
}

/// An agent to provision as an Exotel user.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// The agent's phone (`AgentNumber`), registered as the user's phone device.
    pub phone: Option<String>,
}

/// What Exotel holds for a provisioned agent.
#[derive(Clone, PartialEq, Eq)]
pub struct ProvisionedUser {
    pub exotel_user_id: String,
    pub role: String,
    /// `""` when the user has no phone device.
    pub phone_device_id: String,
    /// `""` when the user has no SIP device.
    pub sip_device_id: String,
    /// `sip:<username>`, or `""` without a SIP device.
    pub sip_id: String,
    /// The SIP password set on the SIP device (`""` without one).
    pub sip_password: String,
    /// The device Exotel reports as on, `""` when none.
    pub active_device_id: String,
}

impl std::fmt::Debug for ProvisionedUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvisionedUser")
            .field("exotel_user_id", &self.exotel_user_id)
            .field("phone_device_id", &self.phone_device_id)
            .field("sip_device_id", &self.sip_device_id)
            .field("sip_id", &self.sip_id)
            .finish_non_exhaustive()
    }
}

/// Why Exotel did not do what was asked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    /// Exotel answered with an error status; `body` is its error JSON (or text).
    #[error("Exotel answered {status}: {body}")]
    Refused { status: u16, body: String },
    /// Exotel could not be reached, timed out, or answered something unreadable.
    #[error("Exotel is unreachable: {0}")]
    Unreachable(String),
}

/// What the server asks of Exotel. Implemented by the CCM HTTP client and by the sandbox.
pub trait ExotelApi {
    /// Finds the user by e-mail or creates it, then sets a fresh SIP password on its SIP device.
    fn provision_user(
        &self,
        user: &NewUser,
    ) -> impl std::future::Future<Output = Result<ProvisionedUser, UpstreamError>> + Send;

    /// Switches one device of a user on or off.
    fn set_device_available(
        &self,
        exotel_user_id: &str,
        device_id: &str,
        available: bool,
    ) -> impl std::future::Future<Output = Result<(), UpstreamError>> + Send;

    /// Places an agent-to-customer call (Voice v3); Exotel rings `from` first, then `to`.
    fn place_call(&self, call: &NewCall)
        -> impl std::future::Future<Output = Result<PlacedCall, UpstreamError>> + Send;
}

/// A call to place through Exotel Voice v3.
#[derive(Debug, Clone)]
pub struct NewCall {
    /// The agent's SIP id (`sip:…`), rung first.
    pub from: String,
    /// The customer's number.
    pub to: String,
    /// The ExoPhone shown to the customer.
    pub virtual_number: String,
    pub record: bool,
    /// Echoed back by Exotel in its callbacks.
    pub custom_field: String,
    /// Where Exotel POSTs its `answered` and `terminal` events.
    pub status_callback_url: String,
}

/// Exotel's acceptance of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedCall {
    pub call_sid: String,
}

/// The upstream clients of this server, one per kind.
#[derive(Clone)]
pub struct Exotel {
    ccm: CcmClient,
    sandbox: Sandbox,
    mumbai_url: String,
    singapore_url: String,
}

impl Exotel {
    pub fn new(config: &Config) -> Self {
        Self {
            ccm: CcmClient::new(config.exotel_timeout.min(Duration::from_secs(5)), config.exotel_timeout),
            sandbox: Sandbox,
            mumbai_url: config.exotel_ccm_url_mumbai.clone(),
            singapore_url: config.exotel_ccm_url_singapore.clone(),
        }
    }

    /// The upstream an app talks to: Exotel's CCM API in its region, or the sandbox.
    pub fn for_app(&self, app: &AppRow, key: &Keyring) -> Result<Upstream<'_>, CryptoError> {
        let base_url = match app.exotel_domain {
            ExotelDomain::Sandbox => return Ok(Upstream::Sandbox(&self.sandbox, app.exotel_account_sid.clone())),
            ExotelDomain::Mumbai => &self.mumbai_url,
            ExotelDomain::Singapore => &self.singapore_url,
        };
        let credentials = Credentials {
            account_sid: app.exotel_account_sid.clone(),
            api_key: key.open_field(SecretField::ExotelApiKey, &app.id, &app.exotel_api_key)?,
            api_token: key.open_field(SecretField::ExotelApiToken, &app.id, &app.exotel_api_token)?,
        };
        Ok(Upstream::Ccm(self.ccm.session(base_url, credentials)))
    }
}

/// One app's upstream.
pub enum Upstream<'a> {
    Ccm(ccm::CcmSession<'a>),
    /// The sandbox, for the app's account sid.
    Sandbox(&'a Sandbox, String),
}

impl ExotelApi for Upstream<'_> {
    async fn provision_user(&self, user: &NewUser) -> Result<ProvisionedUser, UpstreamError> {
        match self {
            Self::Ccm(session) => session.provision_user(user).await,
            Self::Sandbox(sandbox, account_sid) => Ok(sandbox.provision_user(account_sid, user)),
        }
    }

    async fn set_device_available(
        &self,
        exotel_user_id: &str,
        device_id: &str,
        available: bool,
    ) -> Result<(), UpstreamError> {
        match self {
            Self::Ccm(session) => session.set_device_available(exotel_user_id, device_id, available).await,
            Self::Sandbox(..) => Ok(()),
        }
    }

    async fn place_call(&self, call: &NewCall) -> Result<PlacedCall, UpstreamError> {
        match self {
            Self::Ccm(session) => session.place_call(call).await,
            Self::Sandbox(sandbox, _) => Ok(sandbox.place_call(call)),
        }
    }
}

impl Upstream<'_> {
    pub fn is_sandbox(&self) -> bool {
        matches!(self, Self::Sandbox(..))
    }
}

/// Symbols Exotel accepts in SIP passwords.
const SIP_SYMBOLS: &[u8] = b"!@#$%^&*";

/// A strong SIP password: 16 printable ASCII characters with every class (lower, upper, digit,
/// symbol) present, beyond Exotel's policy of 8 characters and 3 of the 4 classes.
pub fn strong_sip_password() -> String {
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGITS: &[u8] = b"23456789";
    let mut rng = rand::rngs::OsRng;
    let all: Vec<u8> = [LOWER, UPPER, DIGITS, SIP_SYMBOLS].concat();
    let mut chars: Vec<u8> =
        [LOWER, UPPER, DIGITS, SIP_SYMBOLS].iter().map(|class| class[rng.gen_range(0..class.len())]).collect();
    while chars.len() < 16 {
        chars.push(all[rng.gen_range(0..all.len())]);
    }
    chars.shuffle(&mut rng);
    String::from_utf8(chars).expect("ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sip_passwords_meet_exotels_policy_and_differ() {
        for _ in 0..200 {
            let p = strong_sip_password();
            assert!(p.len() >= 8 && p.chars().all(|c| c.is_ascii_graphic()));
            let classes = [
                p.chars().any(|c| c.is_ascii_lowercase()),
                p.chars().any(|c| c.is_ascii_uppercase()),
                p.chars().any(|c| c.is_ascii_digit()),
                p.bytes().any(|c| SIP_SYMBOLS.contains(&c)),
            ];
            assert!(classes.iter().filter(|c| **c).count() >= 3, "{p}");
        }
        assert_ne!(strong_sip_password(), strong_sip_password());
    }
}
