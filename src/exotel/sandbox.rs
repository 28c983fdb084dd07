//! The sandbox upstream: no network, stable invented ids, switches that always succeed.

use sha2::{Digest, Sha256};

use super::{strong_sip_password, NewCall, NewUser, PlacedCall, ProvisionedUser};

/// Simulates Exotel for `sandbox` apps so a CRM developer can work without a telephone.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sandbox;

impl Sandbox {
    /// Invents the same ids for the same account and e-mail every time, as Exotel keeps a user per e-mail.
    pub fn provision_user(&self, account_sid: &str, user: &NewUser) -> ProvisionedUser {
        let digest = Sha256::digest(format!("sandbox:{account_sid}:{}", user.email.to_ascii_lowercase()).as_bytes());
        let hex = hex::encode(digest);
        let exotel_user_id =
            format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32]);
        // Device ids are integers in Exotel; derive two distinct ones from the digest.
        let base = u32::from_be_bytes([digest[16], digest[17], digest[18], digest[19]]) % 9_000_000 + 1_000_000;
        let username: String =
            user.first_name.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
        let initial = user.last_name.chars().find(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase());
        let sip_id = format!("sip:{username}{}{}", initial.map(String::from).unwrap_or_default(), &hex[32..40]);
        ProvisionedUser {
            exotel_user_id,
            role: "user".to_string(),
            phone_device_id: if user.phone.is_some() { (base * 2).to_string() } else { String::new() },
            sip_device_id: (base * 2 + 1).to_string(),
            sip_id,
            sip_password: strong_sip_password(),
            active_device_id: String::new(),
        }
    }
}

/// How a sandbox call ends, decided by the number dialled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxCallOutcome {
    /// Answered, talked, hung up.
    Completed,
    /// Numbers ending in `0000` never answer.
    ToLegUnanswered,
}

impl SandboxCallOutcome {
    pub fn for_number(to: &str) -> Self {
        if to.trim().ends_with("0000") {
            Self::ToLegUnanswered
        } else {
            Self::Completed
        }
    }

    /// Exotel's final `status` for this outcome.
    pub fn status(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::ToLegUnanswered => "to_leg_unanswered",
        }
    }
}

impl Sandbox {
    /// Accepts every call with a fresh Exotel-like sid; the lifecycle is played by the caller.
    pub fn place_call(&self, _call: &NewCall) -> PlacedCall {
        PlacedCall { call_sid: uuid::Uuid::new_v4().simple().to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(email: &str, phone: Option<&str>) -> NewUser {
        NewUser {
            first_name: "Meera".into(),
            last_name: "Pillai".into(),
            email: email.into(),
            phone: phone.map(String::from),
        }
    }

    #[test]
    fn numbers_ending_in_four_zeros_go_unanswered() {
        assert_eq!(SandboxCallOutcome::for_number("+919812340000"), SandboxCallOutcome::ToLegUnanswered);
        assert_eq!(SandboxCallOutcome::for_number("+919812340001").status(), "completed");
    }

    #[test]
    fn ids_are_stable_per_account_and_email() {
        let a = Sandbox.provision_user("acme1", &agent("meera@acme.example", Some("+919812300011")));
        let b = Sandbox.provision_user("acme1", &agent("MEERA@acme.example", Some("+919812300011")));
        assert_eq!((&a.exotel_user_id, &a.sip_id, &a.sip_device_id), (&b.exotel_user_id, &b.sip_id, &b.sip_device_id));
        assert_ne!(a.sip_password, b.sip_password, "a fresh password each time");
        let other = Sandbox.provision_user("acme2", &agent("meera@acme.example", None));
        assert_ne!(a.exotel_user_id, other.exotel_user_id);
        assert!(a.sip_id.starts_with("sip:meerap") && a.sip_id.len() == "sip:meerap".len() + 8, "{}", a.sip_id);
        assert_ne!(a.phone_device_id, a.sip_device_id);
        assert_eq!(other.phone_device_id, "", "no AgentNumber, no phone device");
    }
}
