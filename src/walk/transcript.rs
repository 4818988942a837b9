//! The record of a walk: every step with the HTTP exchanges it made, its ✓/✗ checks and, when it
//! failed, the likely cause (SPEC §9, §12). Also owns how a secret is shortened and how a
//! recorded request reads as a copy-pasteable curl command. Serialisable: `--json` prints it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The steps of SPEC §9, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    Probe,
    ProtectedResourceMetadata,
    AuthorizationServerMetadata,
    Registration,
    AuthorizeUrl,
    BrowserLeg,
    Token,
    Mcp,
    Refresh,
    Revoke,
}

impl StepKind {
    /// Every step, in the order a full walk takes them.
    pub const ALL: [StepKind; 10] = [
        StepKind::Probe,
        StepKind::ProtectedResourceMetadata,
        StepKind::AuthorizationServerMetadata,
        StepKind::Registration,
        StepKind::AuthorizeUrl,
        StepKind::BrowserLeg,
        StepKind::Token,
        StepKind::Mcp,
        StepKind::Refresh,
        StepKind::Revoke,
    ];

    pub fn title(self) -> &'static str {
        match self {
            StepKind::Probe => "Probe the MCP endpoint without a token",
            StepKind::ProtectedResourceMetadata => "Protected resource metadata (RFC 9728)",
            StepKind::AuthorizationServerMetadata => "Authorization server metadata (RFC 8414)",
            StepKind::Registration => "Client registration",
            StepKind::AuthorizeUrl => "PKCE and the authorize URL",
            StepKind::BrowserLeg => "Browser leg: authorize, login, consent",
            StepKind::Token => "Token: redeem the code",
            StepKind::Mcp => "MCP with the token: server/discover or initialize, tools/list",
            StepKind::Refresh => "Refresh the token",
            StepKind::Revoke => "Revoke the token (RFC 7009)",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Passed,
    /// Passed with a remark worth reading (an advisory check failed).
    Warned,
    Failed,
    Skipped,
}

/// A request as sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

impl Request {
    /// The request as a curl command a user can paste into a shell.
    pub fn curl(&self) -> String {
        let mut parts = vec![if self.method == "GET" {
            "curl -i".to_string()
        } else {
            format!("curl -i -X {}", self.method)
        }];
        for (k, v) in &self.headers {
            parts.push(format!("-H {}", shell_quote(&format!("{k}: {v}"))));
        }
        if let Some(b) = &self.body {
            parts.push(format!("--data-raw {}", shell_quote(b)));
        }
        parts.push(shell_quote(&self.url));
        parts.join(" \\\n  ")
    }
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// What came back: status, the headers worth showing, and the body (JSON when it parses).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

/// One HTTP exchange of a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    pub request: Request,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Response>,
    /// A network error instead of a response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What this exchange was for, when a step makes several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A ✓/✗ line. An advisory check that fails only warns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub label: String,
    pub ok: bool,
    #[serde(default)]
    pub advisory: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub number: usize,
    pub kind: StepKind,
    pub title: String,
    pub status: Status,
    pub exchanges: Vec<Exchange>,
    pub checks: Vec<Check>,
    /// Facts worth a line of their own (the authorize URL, the server name, …).
    pub notes: Vec<String>,
    /// The likely cause, when the step failed or warned (SPEC §9, §12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
}

impl StepRecord {
    pub fn new(number: usize, kind: StepKind) -> Self {
        StepRecord {
            number,
            kind,
            title: kind.title().to_string(),
            status: Status::Passed,
            exchanges: Vec::new(),
            checks: Vec::new(),
            notes: Vec::new(),
            explanation: None,
        }
    }

    /// Records a required check; a failed one fails the step.
    pub fn check(&mut self, label: impl Into<String>, ok: bool, detail: Option<String>) -> bool {
        self.checks.push(Check {
            label: label.into(),
            ok,
            advisory: false,
            detail,
        });
        if !ok {
            self.status = Status::Failed;
        }
        ok
    }

    /// Records an advisory check; a failed one only warns.
    pub fn advise(&mut self, label: impl Into<String>, ok: bool, detail: Option<String>) {
        self.checks.push(Check {
            label: label.into(),
            ok,
            advisory: true,
            detail,
        });
        if !ok && self.status == Status::Passed {
            self.status = Status::Warned;
        }
    }

    pub fn fail(&mut self, explanation: impl Into<String>) {
        self.status = Status::Failed;
        self.explanation = Some(explanation.into());
    }

    pub fn failed(&self) -> bool {
        self.status == Status::Failed
    }
}

/// The result of one `--check` negative check: the protection held (`passed`) or not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NegativeCheck {
    pub name: String,
    pub expectation: String,
    pub status: Status,
    pub exchanges: Vec<Exchange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// How the walk ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "result")]
pub enum WalkOutcome {
    Passed,
    /// A step failed (exit 1).
    Failed {
        step: StepKind,
        number: usize,
    },
    /// A network or usage error stopped the walk (exit 2).
    Error {
        step: StepKind,
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    pub mcp_url: String,
    /// The MCP era the walk spoke with the server (step 8): "2026-07-28" or "2025-11-25".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub era: Option<crate::oauth::discovery::Era>,
    pub steps: Vec<StepRecord>,
    pub checks: Vec<NegativeCheck>,
    pub outcome: WalkOutcome,
}

impl Transcript {
    /// 0 every step passed (and every negative check held), 1 a step or check failed, 2 an error.
    pub fn exit_code(&self) -> u8 {
        match self.outcome {
            WalkOutcome::Error { .. } => 2,
            WalkOutcome::Failed { .. } => 1,
            WalkOutcome::Passed if self.checks.iter().any(|c| c.status == Status::Failed) => 1,
            WalkOutcome::Passed => 0,
        }
    }

    /// Every request sent, in order (steps first, then negative checks).
    pub fn requests(&self) -> Vec<&Request> {
        self.steps
            .iter()
            .flat_map(|s| &s.exchanges)
            .chain(self.checks.iter().flat_map(|c| &c.exchanges))
            .map(|e| &e.request)
            .collect()
    }
}

/// `abcdef…`: the first 6 characters of a secret, enough to tell two apart.
pub fn shorten(secret: &str) -> String {
    let head: String = secret.chars().take(6).collect();
    format!("{head}…")
}

/// Replaces every occurrence of each secret in every string of `value` by its short form.
/// Longest secrets first, so a secret that contains another is replaced whole.
pub fn redact<T: Clone + Serialize + serde::de::DeserializeOwned>(
    value: &T,
    secrets: &[String],
) -> T {
    let mut secrets: Vec<&String> = secrets.iter().filter(|s| s.len() > 6).collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let Ok(mut v) = serde_json::to_value(value) else {
        return value.clone();
    };
    redact_value(&mut v, &secrets);
    serde_json::from_value(v).unwrap_or_else(|_| value.clone())
}

fn redact_value(v: &mut Value, secrets: &[&String]) {
    match v {
        Value::String(s) => {
            for secret in secrets {
                if s.contains(secret.as_str()) {
                    *s = s.replace(secret.as_str(), &shorten(secret));
                }
                // form bodies and URLs carry the value percent-encoded
                let enc: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
                if enc != **secret && s.contains(&enc) {
                    *s = s.replace(&enc, &shorten(secret));
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| redact_value(x, secrets)),
        Value::Object(o) => o.values_mut().for_each(|x| redact_value(x, secrets)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortens_every_occurrence_and_keeps_the_rest() {
        let r = Request {
            method: "POST".into(),
            url: "http://x/token?t=s3cr3t-value".into(),
            headers: vec![("authorization".into(), "Bearer s3cr3t-value".into())],
            body: Some("refresh_token=a%2Fb%2Fc-long-secret&x=1".into()),
        };
        let red = redact(&r, &["s3cr3t-value".into(), "a/b/c-long-secret".into()]);
        assert_eq!(red.url, "http://x/token?t=s3cr3t…");
        assert_eq!(red.headers[0].1, "Bearer s3cr3t…");
        assert_eq!(red.body.as_deref(), Some("refresh_token=a/b/c-…&x=1"));
    }

    #[test]
    fn curl_quotes_what_the_shell_would_split() {
        let r = Request {
            method: "POST".into(),
            url: "http://127.0.0.1:9000/mcp/a".into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: Some(r#"{"it's":1}"#.into()),
        };
        let c = r.curl();
        assert!(c.contains(r#"--data-raw '{"it'\''s":1}'"#), "{c}");
        assert!(c.contains("-H 'content-type: application/json'"), "{c}");
        assert!(c.ends_with("http://127.0.0.1:9000/mcp/a"), "{c}");
    }
}
