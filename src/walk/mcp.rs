//! SPEC §9 step 8: MCP `initialize`, `notifications/initialized` and `tools/list` with the
//! token (JSON or SSE answers), and what a 401, 403, -32042 or -32600 there means.

use super::transcript::{Exchange, StepKind};
use super::{Stop, Walk, mcp_json, str_field};
use crate::net::outbound::OutboundRequest;
use crate::oauth::discovery;
use serde_json::{Value, json};

impl Walk<'_> {
    /// Step 8: initialize and tools/list with the token.
    pub(super) async fn mcp(&mut self) -> Result<bool, Stop> {
        let mut step = self.step(StepKind::Mcp);
        let mut connect_tries = 0;
        let (init, session) = loop {
            let (exchange, result) = self
                .mcp_post(&discovery::initialize_request(), None, Some("initialize"))
                .await;
            step.exchanges.push(exchange);
            let f = match result {
                Ok(f) => f,
                Err(e) => {
                    step.fail(format!("The MCP URL could not be reached: {e}"));
                    self.finish(step);
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
                self.finish(step);
                return Ok(false);
            }
            let error_code = answer
                .as_ref()
                .and_then(|a| a.pointer("/error/code"))
                .and_then(Value::as_i64);
            if status == 200 && error_code == Some(-32042) && connect_tries < 1 {
                let data = answer
                    .as_ref()
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
                    self.finish(step);
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
                connect_tries += 1;
                match self.connect_upstream(&mut step, &url).await? {
                    true => continue,
                    false => {
                        step.fail(format!(
                            "The upstream's OAuth is pending (-32042, {state}): open the connect URL in a browser, \
                             finish the upstream's login, then run the walk again{}.",
                            if self.local_dev { " (or pass --auto-connect)" } else { "" }
                        ));
                        self.finish(step);
                        return Ok(false);
                    }
                }
            }
            if status == 200
                && error_code == Some(-32600)
                && answer
                    .as_ref()
                    .and_then(|a| a.pointer("/error/data/connectRequired"))
                    .is_some()
            {
                step.check(
                    "initialize result",
                    false,
                    Some("-32600 admin_connect_required".into()),
                );
                step.fail("A shared upstream has no connection yet (admin_connect_required): an administrator must connect it (§6.6).");
                self.finish(step);
                return Ok(false);
            }
            self.session = session.clone();
            break (answer, session);
        };
        let result = init.as_ref().and_then(|a| a.get("result"));
        let ok = step.check(
            "initialize result",
            result.is_some(),
            init.as_ref()
                .and_then(|a| a.get("error"))
                .map(|e| e.to_string()),
        );
        if !ok {
            step.explanation = Some("The MCP server answered initialize with an error or no JSON-RPC answer (see the answer above).".into());
            self.finish(step);
            return Ok(false);
        }
        if let Some(info) = result.and_then(|r| r.get("serverInfo")) {
            step.notes.push(format!(
                "server: {} {}",
                str_field(info, "name").unwrap_or("?"),
                str_field(info, "version").unwrap_or("")
            ));
        }
        if let Some(v) = result.and_then(|r| str_field(r, "protocolVersion")) {
            step.notes.push(format!("protocol version: {v}"));
        }
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let (exchange, _) = self
            .mcp_post(
                &initialized,
                session.as_deref(),
                Some("notifications/initialized"),
            )
            .await;
        step.exchanges.push(exchange);
        let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
        let (exchange, result) = self
            .mcp_post(&list, session.as_deref(), Some("tools/list"))
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

    /// One JSON-RPC POST to the MCP URL with the current token.
    pub(super) async fn mcp_post(
        &mut self,
        body: &Value,
        session: Option<&str>,
        note: Option<&str>,
    ) -> (
        Exchange,
        Result<crate::net::outbound::Fetched, crate::net::outbound::OutboundError>,
    ) {
        let mut req = OutboundRequest::post_json(self.opts.mcp_url.clone(), body)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", discovery::PROTOCOL_VERSION);
        if let Some(t) = &self.access_token {
            req = req.header("authorization", format!("Bearer {}", t.secret()));
        }
        if let Some(s) = session {
            req = req.header("mcp-session-id", s);
        }
        self.send_raw(req, note).await
    }
}
