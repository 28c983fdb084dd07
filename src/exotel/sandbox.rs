//! The sandbox upstream: no network, stable invented ids, switches that always succeed.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::events::PassthruParams;
use super::{strong_sip_password, NewCall, NewUser, PlacedCall, ProvisionedUser};
use crate::domain::call::InboundType;
use crate::domain::time::{exotel_time, india_offset};

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
        PlacedCall { call_sid: new_call_sid() }
    }
}

/// A fresh call sid shaped like Exotel's: 32 lower-case hex characters.
fn new_call_sid() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Exotel's placeholder for a time it does not know yet (the passthru's `EndTime` while a call goes on).
const UNKNOWN_TIME: &str = "1970-01-01 05:30:00";

/// How a simulated inbound call ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundOutcome {
    /// The agent picks up, they talk `talk_seconds`, and the call ends with a recording.
    Answered { talk_seconds: i64 },
    /// The agent never picks up.
    Missed,
}

/// One passthru request of a simulated inbound call, in the order an Exotel flow sends them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundStep {
    /// `type=popup`, `EventType=Dial`: the agent's device rings.
    Dial,
    /// `type=popup`, `EventType=Answered`: the agent picked up.
    Answered,
    /// `type=incomingcallhungup`, `EventType=Terminal`: the conversation ended.
    HungUp,
    /// `type=missedcall`, `EventType=Terminal`: nobody picked up.
    Missed,
}

impl InboundStep {
    pub fn kind(self) -> InboundType {
        match self {
            Self::Dial | Self::Answered => InboundType::Popup,
            Self::HungUp => InboundType::IncomingCallHungUp,
            Self::Missed => InboundType::MissedCall,
        }
    }

    /// Exotel's `EventType` for this step.
    pub fn event_type(self) -> &'static str {
        match self {
            Self::Dial => "Dial",
            Self::Answered => "Answered",
            Self::HungUp | Self::Missed => "Terminal",
        }
    }
}

/// A customer calling an app's agent, as the sandbox plays it: the passthru requests an Exotel flow
/// (a Connect applet with "Create popup", then a Passthru applet on each outcome) would send.
#[derive(Debug, Clone)]
pub struct SimulatedInboundCall {
    /// A fresh sid shaped like Exotel's.
    pub call_sid: String,
    /// The caller.
    from: String,
    /// The agent's `SipId`: whom the flow dials.
    dial_whom: String,
    /// The number the customer called (the agent's `VirtualNumber`).
    virtual_number: String,
    outcome: InboundOutcome,
    /// The app's Exotel account, in the recording's URL.
    account_sid: String,
    /// When the call came in, unix milliseconds.
    started_at: i64,
}

impl SimulatedInboundCall {
    pub fn new(
        account_sid: &str,
        from: String,
        dial_whom: String,
        virtual_number: String,
        outcome: InboundOutcome,
        now_ms: i64,
    ) -> Self {
        Self {
            call_sid: new_call_sid(),
            from,
            dial_whom,
            virtual_number,
            outcome,
            account_sid: account_sid.to_string(),
            started_at: now_ms,
        }
    }

    /// The passthru requests of this call, in order.
    pub fn steps(&self) -> &'static [InboundStep] {
        match self.outcome {
            InboundOutcome::Answered { .. } => &[InboundStep::Dial, InboundStep::Answered, InboundStep::HungUp],
            InboundOutcome::Missed => &[InboundStep::Dial, InboundStep::Missed],
        }
    }

    /// Where the sandbox says the call's recording is: a URL of the shape Exotel gives, on a host
    /// that does not exist (`.invalid`): there is no audio.
    fn recording_url(&self) -> String {
        format!("https://recordings.sandbox.invalid/{}/{}.mp3", self.account_sid, self.call_sid)
    }

    /// The parameters of `step` as Exotel's flow sends them at `now_ms`: the popups while the agent's
    /// device rings or talks (`Status=busy`, no end time yet), then the outcome (`Status=free`).
    pub fn params(&self, step: InboundStep, now_ms: i64) -> PassthruParams {
        let terminal = matches!(step, InboundStep::HungUp | InboundStep::Missed);
        let mut pairs: Vec<(&str, String)> = vec![
            ("type", step.kind().as_str().to_string()),
            ("CallSid", self.call_sid.clone()),
            ("CallFrom", self.from.clone()),
            ("CallTo", self.virtual_number.clone()),
            ("From", self.from.clone()),
            ("To", self.virtual_number.clone()),
            ("Direction", "incoming".to_string()),
            ("Created", created_time(self.started_at)),
            ("StartTime", exotel_time(self.started_at)),
            ("EndTime", if terminal { exotel_time(now_ms) } else { UNKNOWN_TIME.to_string() }),
            ("CurrentTime", exotel_time(now_ms)),
            ("DialWhomNumber", self.dial_whom.clone()),
            ("Status", if terminal { "free" } else { "busy" }.to_string()),
            ("EventType", step.event_type().to_string()),
        ];
        match (step, self.outcome) {
            (InboundStep::HungUp, InboundOutcome::Answered { talk_seconds }) => pairs.extend([
                ("CallType", "completed".to_string()),
                ("DialCallStatus", "completed".to_string()),
                ("DialCallDuration", talk_seconds.to_string()),
                ("RecordingUrl", self.recording_url()),
            ]),
            (InboundStep::Missed, _) => pairs.extend([
                ("CallType", "incomplete".to_string()),
                ("DialCallStatus", "no-answer".to_string()),
                ("DialCallDuration", "0".to_string()),
            ]),
            _ => pairs.push(("CallType", "call-attempt".to_string())),
        }
        PassthruParams::new(pairs.into_iter().map(|(name, value)| (name.to_string(), value)).collect())
    }
}

/// Exotel's `Created`: `Wed, 01 May 2024 10:00:00`, India time.
fn created_time(unix_ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(unix_ms)
        .unwrap_or_default()
        .with_timezone(&india_offset())
        .format("%a, %d %b %Y %H:%M:%S")
        .to_string()
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
    fn a_simulated_answered_call_sends_dial_answered_then_hangup_with_its_duration_and_recording() {
        let outcome = InboundOutcome::Answered { talk_seconds: 42 };
        let at = 1_714_537_800_000; // 2024-05-01 10:00:00 in India
        let call = SimulatedInboundCall::new(
            "acme1",
            "+919812300077".into(),
            "sip:meerap1".into(),
            "+918040001111".into(),
            outcome,
            at,
        );
        assert_eq!(call.call_sid.len(), 32);
        assert!(call.call_sid.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{}", call.call_sid);
        assert_eq!(call.steps(), [InboundStep::Dial, InboundStep::Answered, InboundStep::HungUp]);

        let dial = call.params(InboundStep::Dial, at);
        assert_eq!(dial.get_exact("type"), Some("popup"));
        assert_eq!(dial.get(&["CallSid"]), call.call_sid);
        assert_eq!(
            [dial.get(&["Status"]), dial.get(&["EventType"]), dial.get(&["DialWhomNumber"])],
            ["busy", "Dial", "sip:meerap1"]
        );
        assert_eq!([dial.get(&["CallFrom"]), dial.get(&["CallTo"])], ["+919812300077", "+918040001111"]);
        assert_eq!([dial.get(&["StartTime"]), dial.get(&["EndTime"])], ["2024-05-01 10:00:00", UNKNOWN_TIME]);
        assert_eq!(dial.get(&["Created"]), "Wed, 01 May 2024 10:00:00");
        assert_eq!(dial.get(&["RecordingUrl"]), "");

        assert_eq!(call.params(InboundStep::Answered, at + 2_000).get(&["EventType"]), "Answered");

        let hangup = call.params(InboundStep::HungUp, at + 4_000);
        assert_eq!(hangup.get_exact("type"), Some("incomingcallhungup"));
        assert_eq!([hangup.get(&["Status"]), hangup.get(&["EventType"])], ["free", "Terminal"]);
        assert_eq!(hangup.get(&["DialCallDuration"]), "42");
        assert_eq!(
            hangup.get(&["RecordingUrl"]),
            format!("https://recordings.sandbox.invalid/acme1/{}.mp3", call.call_sid)
        );
        assert_eq!(
            [hangup.get(&["EndTime"]), hangup.get(&["CurrentTime"])],
            ["2024-05-01 10:00:04", "2024-05-01 10:00:04"]
        );
    }

    #[test]
    fn a_simulated_missed_call_sends_the_popup_then_missedcall_without_a_recording() {
        let call = SimulatedInboundCall::new(
            "acme1",
            "+919812300077".into(),
            "sip:m".into(),
            "+918040001111".into(),
            InboundOutcome::Missed,
            0,
        );
        assert_eq!(call.steps(), [InboundStep::Dial, InboundStep::Missed]);
        let missed = call.params(InboundStep::Missed, 1_000);
        assert_eq!(missed.get_exact("type"), Some("missedcall"));
        assert_eq!([missed.get(&["Status"]), missed.get(&["EventType"])], ["free", "Terminal"]);
        assert_eq!([missed.get(&["DialCallDuration"]), missed.get(&["RecordingUrl"])], ["0", ""]);
        assert_ne!(
            SimulatedInboundCall::new("a", "1".into(), "s".into(), "v".into(), InboundOutcome::Missed, 0).call_sid,
            call.call_sid
        );
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
