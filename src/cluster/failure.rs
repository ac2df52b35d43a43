//! A failed API call as plain data, and what kind of failure it is.

use std::fmt;

use serde::Serialize;

/// What the API server (or the network) said when a call failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiFailure {
    /// HTTP status; 0 when no answer came back.
    pub code: u16,
    /// The server's machine-readable reason (`Invalid`, `Forbidden`, `Conflict`, ...).
    pub reason: String,
    pub message: String,
}

/// How a failure affects the run. Ordered so that, among several, the greatest is the one to
/// report: the input being wrong outweighs a conflict, which outweighs an outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailureClass {
    /// The server or the network failed; the same request may work later.
    Transient,
    /// Another field manager owns a field kpush wants to set.
    Conflict,
    /// The input is wrong or not allowed: fix the manifest or the permissions.
    Invalid,
}

impl FailureClass {
    /// How a plan stopped by failures of this class exits: invalid input is 3, the rest 1.
    pub fn exit_status(self) -> crate::exit::ExitStatus {
        match self {
            FailureClass::Invalid => crate::exit::ExitStatus::Invalid,
            FailureClass::Conflict | FailureClass::Transient => crate::exit::ExitStatus::Failure,
        }
    }

    /// What kept a plan with failures of this class (the worst) from being written.
    pub fn why_not_written(self) -> &'static str {
        match self {
            FailureClass::Invalid => "failed validation",
            FailureClass::Conflict => {
                "conflict with another field manager (`--force-conflicts` takes the fields over)"
            }
            FailureClass::Transient => {
                "could not be checked: the API server failed or kept throttling the requests, and a rerun may pass"
            }
        }
    }
}

impl ApiFailure {
    /// An object deleted in the foreground that is still there at the deadline.
    pub fn not_gone(id: &crate::object::ObjectRef, timeout: std::time::Duration) -> ApiFailure {
        ApiFailure {
            code: 504,
            reason: "Timeout".into(),
            message: format!(
                "{id} still exists {}s after its deletion (finalizers or dependents?)",
                timeout.as_secs()
            ),
        }
    }

    /// A transport failure caused by the server's certificate, not by the network.
    pub fn is_tls(&self) -> bool {
        let m = self.message.to_ascii_lowercase();
        self.code == 0
            && [
                "certificate",
                "unknownissuer",
                "invalid peer",
                "tls handshake",
            ]
            .iter()
            .any(|needle| m.contains(needle))
    }

    pub fn transport(message: impl Into<String>) -> ApiFailure {
        ApiFailure {
            code: 0,
            reason: "Unreachable".into(),
            message: message.into(),
        }
    }

    /// kpush's own validation: the server accepted the object but dropped fields it does not
    /// know, so what would be stored is not what the manifest says.
    pub fn unknown_fields(paths: &[String]) -> ApiFailure {
        let list: Vec<String> = paths.iter().map(|p| format!("`{p}`")).collect();
        ApiFailure {
            code: 422,
            reason: "UnknownField".into(),
            message: format!(
                "the server dropped {} not in its schema: {} (misspelt, or not supported by this API version; `--validate=false` accepts it)",
                if paths.len() == 1 {
                    "a field"
                } else {
                    "fields"
                },
                list.join(", ")
            ),
        }
    }

    pub fn class(&self) -> FailureClass {
        match self.code {
            409 => FailureClass::Conflict,
            0 | 429 | 500..=599 => FailureClass::Transient,
            _ => FailureClass::Invalid,
        }
    }

    pub(super) fn from_kube(error: kube::Error) -> ApiFailure {
        match error {
            kube::Error::Api(status) if is_schema_error(&status) => ApiFailure {
                code: 422,
                reason: "Invalid".into(),
                message: status.message.clone(),
            },
            kube::Error::Api(status) => ApiFailure {
                code: status.code,
                reason: if status.reason.is_empty() {
                    format!("HTTP {}", status.code)
                } else {
                    status.reason.clone()
                },
                message: status.message.clone(),
            },
            other => ApiFailure::transport(error_chain(&other)),
        }
    }
}

/// Server-side apply answers 500 when the object does not fit the schema (a field of the
/// wrong type, or an unknown field under strict validation): that is invalid input, not an
/// outage, and retrying cannot help.
pub(super) fn is_schema_error(status: &kube::core::Status) -> bool {
    status.code == 500
        && status
            .message
            .contains("failed to create typed patch object")
}

/// The whole `source()` chain, since kube's top-level messages hide the cause (TLS, refused...).
pub(super) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

impl fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.code == 0 {
            write!(f, "{}", self.message)
        } else {
            write!(f, "({}) {}", self.reason, self.message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_the_status_code() {
        let f = |code| ApiFailure {
            code,
            reason: String::new(),
            message: String::new(),
        };
        assert_eq!(f(422).class(), FailureClass::Invalid);
        assert_eq!(f(403).class(), FailureClass::Invalid);
        assert_eq!(f(404).class(), FailureClass::Invalid);
        assert_eq!(f(409).class(), FailureClass::Conflict);
        assert_eq!(f(429).class(), FailureClass::Transient);
        assert_eq!(f(503).class(), FailureClass::Transient);
        assert_eq!(
            ApiFailure::transport("refused").class(),
            FailureClass::Transient
        );
    }

    #[test]
    fn the_reason_nothing_was_written_follows_the_worst_class() {
        use FailureClass::*;
        let cases: &[(&[FailureClass], &str, u8)] = &[
            (&[Transient, Invalid, Conflict], "failed validation", 3),
            (
                &[Conflict, Transient],
                "conflict with another field manager",
                1,
            ),
            (&[Transient], "could not be checked", 1),
        ];
        for (classes, reason, code) in cases {
            let worst = classes.iter().copied().max().unwrap();
            assert!(worst.why_not_written().starts_with(reason), "{classes:?}");
            assert_eq!(worst.exit_status().code(), *code, "{classes:?}");
        }
    }
}
