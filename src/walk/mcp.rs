//! SPEC §9 step 8: MCP with the token, in the era the server speaks (`--protocol`):
//! 2026-07-28 `server/discover` then `tools/list`, each with the `_meta` envelope and the
//! `Mcp-Method` header; or 2025-11-25 `initialize`, `notifications/initialized` and `tools/list`
//! in its session. `auto` asks `server/discover` first and falls back to `initialize` on the
//! answers that say the server does not speak 2026-07-28 ([`discovery::classify_discover`]).
//! JSON or SSE answers; what a 401, 403, -32042 or -32600 there means.

use super::transcript::{Exchange, StepKind, StepRecord};
use super::{Stop, Walk, mcp_json, str_field};
use crate::net::outbound::{Fetched, OutboundError};
use crate::oauth::discovery::{self, DiscoverVerdict, Era, Protocol};
use serde_json::{Value, json};

/// The answer to the request that opens the conversation.
struct Opened {
    status: u16,
    answer: Option<Value>,
    session: Option<String>,
}

impl Walk<'_> {
    /// The era later requests are written in (2025-11-25 until step 8 has found out).
    pub(super) fn era(&self) -> Era {
        self.era.unwrap_or(match self.opts.protocol {
            Protocol::Modern => Era::Modern,
            Protocol::Auto | Protocol::Session => Era::Session,
        })
    }

    /// Step 8: the era, `server/discover` or `initialize`, and tools/list with the token.
    pub(super) async fn mcp(&mut self) -> Result<bool, Stop> {
        let mut step = self.step(StepKind::Mcp);
        let asked = match self.opts.protocol {
            Protocol::Session => Era::Session,
            Protocol::Auto | Protocol::Modern => Era::Modern,
        };
        let Some(mut opened) = self.open(&mut step, asked).await? else {
            return Ok(false);
        };
        let mut era = asked;
        if asked == Era::Modern {
            match discovery::classify_discover(opened.status, opened.answer.as_ref()) {
                DiscoverVerdict::Modern => {}
                DiscoverVerdict::FallBack(why) if self.opts.protocol == Protocol::Auto => {
                    step.notes.push(format!(
                        "{why}: the server does not speak 2026-07-28, the walk falls back to initialize (2025-11-25)"
                    ));
                    era = Era::Session;
                    let Some(again) = self.open(&mut step, Era::Session).await? else {
                        return Ok(false);
                    };
                    opened = again;
                }
                DiscoverVerdict::FallBack(why) => {
                    step.check("server/discover result", false, Some(why.clone()));
                    step.fail(format!(
                        "The server does not speak 2026-07-28 ({why}). Run the walk with --protocol auto \
                         (or 2025-11-25) to speak initialize."
                    ));
                    self.finish(step);
                    return Ok(false);
                }
                DiscoverVerdict::Stands => {
                    step.check(
                        "server/discover result",
                        false,
                        Some(format!("HTTP {}", opened.status)),
                    );
                    step.fail(
                        "server/discover got no JSON-RPC answer that tells the server's era (a server \
                         error, a redirect, or a body that is not JSON-RPC: see the answer above).",
                    );
                    self.finish(step);
                    return Ok(false);
                }
            }
        }
        self.era = Some(era);
        self.session = opened.session.clone().filter(|_| era == Era::Session);
        let method = era.first_method();
        let result = opened.answer.as_ref().and_then(|a| a.get("result"));
        let ok = step.check(
            format!("{method} result"),
            result.is_some(),
            opened
                .answer
                .as_ref()
                .and_then(|a| a.get("error"))
                .map(|e| e.to_string())
                .or_else(|| Some(format!("HTTP {}", opened.status))),
        );
        if !ok {
            step.explanation = Some(format!(
                "The MCP server answered {method} with an error or no JSON-RPC answer (see the answer above)."
            ));
            self.finish(step);
            return Ok(false);
        }
        step.notes.push(format!("era: {era} ({method})"));
        if let Some(info) = result.and_then(discovery::server_info) {
            step.notes.push(format!(
                "server: {} {}",
                str_field(info, "name").unwrap_or("?"),
                str_field(info, "version").unwrap_or("")
            ));
        }
        match era {
            Era::Session => {
                if let Some(v) = result.and_then(|r| str_field(r, "protocolVersion")) {
                    step.notes.push(format!("protocol version: {v}"));
                }
                let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
                let session = self.session.clone();
                let (exchange, _) = self
                    .mcp_post(
                        Era::Session,
                        &initialized,
                        session.as_deref(),
                        Some("notifications/initialized"),
                    )
                    .await;
                step.exchanges.push(exchange);
            }
            Era::Modern => {
                if let Some(v) = result
                    .and_then(|r| r.get("supportedVersions"))
                    .and_then(Value::as_array)
                {
                    let v: Vec<&str> = v.iter().filter_map(Value::as_str).collect();
                    step.notes
                        .push(format!("supported versions: {}", v.join(", ")));
                }
            }
        }
        let list = discovery::mcp_request(era, 2, "tools/list", Value::Null);
        let session = self.session.clone();
        let (exchange, result) = self
            .mcp_post(era, &list, session.as_deref(), Some("tools/list"))
            .await;
        step.exchanges.push(exchange);
        match result {
            Err(e) => {
                step.fail(format!("tools/list could not be sent: {e}"));
                self.finish(step);
                return Err(Stop(e.to_string()));
            }
            Ok(f) => {
                let answer = mcp_json(&f);
                let tools: Option<Vec<String>> = answer
                    .as_ref()
                    .and_then(|a| a.pointer("/result/tools"))
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|t| str_field(t, "name"))
                            .map(str::to_string)
                            .collect()
                    });
                step.check(
                    "tools/list result",
                    tools.is_some(),
                    Some(format!("HTTP {}", f.status.as_u16())),
                );
                if tools.is_none()
                    && let Some(e) = answer.as_ref().and_then(|a| a.get("error"))
                {
                    step.explanation = Some(format!(
                        "tools/list was answered with an error: {e}{}",
                        if era == Era::Modern {
                            " (a 2026-07-28 server refuses a request whose _meta envelope or Mcp-Method / MCP-Protocol-Version headers it does not accept: -32602, -32020, -32022)"
                        } else {
                            ""
                        }
                    ));
                }
                if let Some(t) = tools {
                    step.notes.push(format!(
                        "tools: {}",
                        if t.is_empty() {
                            "(none)".into()
                        } else {
                            t.join(", ")
                        }
                    ));
                }
            }
        }
        Ok(self.finish(step))
    }

    /// Sends the request that opens a conversation in `era` (`server/discover` or `initialize`)
    /// and deals with what stands before any era: a 401 or 403 (the step fails), a -32042
    /// connect-required (connect, then ask again once), a -32600 admin_connect_required (the
    /// step fails). `None` when the step failed and is filed.
    async fn open(&mut self, step: &mut StepRecord, era: Era) -> Result<Option<Opened>, Stop> {
        let method = era.first_method();
        let mut connect_tries = 0;
        loop {
            let (exchange, result) = self
                .mcp_post(era, &discovery::first_request(era), None, Some(method))
                .await;
            step.exchanges.push(exchange);
            let f = match result {
                Ok(f) => f,
                Err(e) => {
                    step.fail(format!("The MCP URL could not be reached: {e}"));
                    self.finish(std::mem::replace(step, StepRecord::new(0, StepKind::Mcp)));
                    return Err(Stop(e.to_string()));
                }
            };
            let status = f.status.as_u16();
            let session = f.header("mcp-session-id").map(str::to_string);
            let answer = mcp_json(&f);
            if status == 401 || status == 403 {
                let c = discovery::bearer_challenge(&f.headers);
                let error = c.as_ref().and_then(|c| c.error.clone());
                step.check(
                    "200 with a JSON-RPC answer",
                    false,
                    Some(format!("{status} {}", error.clone().unwrap_or_default())),
                );
                step.fail(match (status, error.as_deref()) {
                    (403, _) => "403 insufficient_scope: the token lacks the scope the resource needs (an old token, or DCR/authorize with another scope) (§12).".to_string(),
                    _ => "401 with the new token: it is bound to another route or origin (localhost vs 127.0.0.1, a proxy, --public-url), expired, or revoked (§9: 401 on every call after exchange; §12 invalid_audience).".to_string(),
                });
                self.finish(std::mem::replace(step, StepRecord::new(0, StepKind::Mcp)));
                return Ok(None);
            }
            let error_code = answer
                .as_ref()
                .and_then(|a| a.pointer("/error/code"))
                .and_then(Value::as_i64);
            if status == 200 && error_code == Some(-32042) && connect_tries < 1 {
                connect_tries += 1;
                if self.connect_required(step, answer.as_ref(), era).await? {
                    continue;
                }
                self.finish(std::mem::replace(step, StepRecord::new(0, StepKind::Mcp)));
                return Ok(None);
            }
            if status == 200
                && error_code == Some(-32600)
                && answer
                    .as_ref()
                    .and_then(|a| a.pointer("/error/data/connectRequired"))
                    .is_some()
            {
                step.check(
                    format!("{method} result"),
                    false,
                    Some("-32600 admin_connect_required".into()),
                );
                step.fail("A shared upstream has no connection yet (admin_connect_required): an administrator must connect it (§6.6).");
                self.finish(std::mem::replace(step, StepRecord::new(0, StepKind::Mcp)));
                return Ok(None);
            }
            return Ok(Some(Opened {
                status,
                answer,
                session,
            }));
        }
    }

    /// -32042: shows the connect URL and connects the upstream (`--auto-connect`, or waiting
    /// for the user on local dev). `true` when the request should be sent again; on `false`
    /// the step is failed.
    async fn connect_required(
        &mut self,
        step: &mut StepRecord,
        answer: Option<&Value>,
        era: Era,
    ) -> Result<bool, Stop> {
        let data = answer
            .and_then(|a| a.pointer("/error/data"))
            .cloned()
            .unwrap_or(Value::Null);
        let url = data
            .pointer("/elicitations/0/url")
            .or_else(|| data.pointer("/connectRequired/authUrl"))
            .or_else(|| data.get("authUrl"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let state = data
            .pointer("/connectRequired/state")
            .or_else(|| data.get("state"))
            .and_then(Value::as_str)
            .unwrap_or("authenticating")
            .to_string();
        step.notes.push(format!(
            "-32042: an upstream connection is needed ({state})"
        ));
        let Some(url) = url else {
            step.fail("-32042 without a connect URL (data.elicitations[0].url / data.connectRequired.authUrl).");
            return Ok(false);
        };
        // the URL carries a one-time browser ticket: shorten long query values
        if let Ok(u) = url::Url::parse(&url) {
            for (_, v) in u.query_pairs() {
                if v.len() >= 16 {
                    let v = v.into_owned();
                    self.secret(&v);
                }
            }
        }
        step.notes.push(format!("connect URL: {url}"));
        if self.connect_upstream(step, &url, era).await? {
            return Ok(true);
        }
        step.fail(format!(
            "The upstream's OAuth is pending (-32042, {state}): open the connect URL in a browser, \
             finish the upstream's login, then run the walk again{}.",
            if self.local_dev {
                " (or pass --auto-connect)"
            } else {
                ""
            }
        ));
        Ok(false)
    }

    /// One JSON-RPC POST to the MCP URL in `era` (its headers, see [`discovery::mcp_post`]) with
    /// the current token, and the session when there is one.
    pub(super) async fn mcp_post(
        &mut self,
        era: Era,
        body: &Value,
        session: Option<&str>,
        note: Option<&str>,
    ) -> (Exchange, Result<Fetched, OutboundError>) {
        let mut req = discovery::mcp_post(&self.opts.mcp_url, era, body);
        if let Some(t) = &self.access_token {
            req = req.header("authorization", format!("Bearer {}", t.secret()));
        }
        if let Some(s) = session {
            req = req.header("mcp-session-id", s);
        }
        self.send_raw(req, note).await
    }
}
