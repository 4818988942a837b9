//! Server-rendered HTML of the authorization server (SPEC §3.3, §3.10): the consent page and
//! browser error pages, from `templates/pages/`. No external assets, no JavaScript.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const CONSENT: &str = include_str!("../../templates/pages/consent.html");
const ERROR: &str = include_str!("../../templates/pages/error.html");
const SETUP: &str = include_str!("../../templates/pages/setup.html");

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (k, v) in values {
        out = out.replace(&format!("{{{{{k}}}}}"), &escape(v));
    }
    out
}

/// Headers every HTML page of the authorization server carries (§3.7).
pub fn html(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    resp
}

pub struct Consent<'a> {
    pub client_name: &'a str,
    pub route: &'a str,
    pub subject: &'a str,
    pub setup_url: &'a str,
    pub state: &'a str,
}

pub fn consent(c: &Consent<'_>) -> String {
    fill(
        CONSENT,
        &[
            ("client_name", c.client_name),
            ("route", c.route),
            ("subject", c.subject),
            ("setup_url", c.setup_url),
            ("state", c.state),
        ],
    )
}

/// The consent page in setup mode (§3.10): a Connect link for each pending upstream, Cancel,
/// and no Authorize button. `pending` is (display name, connect URL).
pub fn setup(c: &Consent<'_>, pending: &[(String, String)]) -> String {
    let items: String = pending
        .iter()
        .enumerate()
        .map(|(i, (name, url))| {
            format!(
                "<li><a class=\"connect\" id=\"connect-{i}\" href=\"{}\">Connect {}</a></li>\n",
                escape(url),
                escape(name)
            )
        })
        .collect();
    fill(
        SETUP,
        &[
            ("client_name", c.client_name),
            ("route", c.route),
            ("subject", c.subject),
            ("setup_url", c.setup_url),
            ("state", c.state),
        ],
    )
    .replace("{{connect_items}}", &items)
}

/// A browser error page: kind (title), message and the developer-details block (§3.3).
#[derive(Debug, Clone)]
pub struct ErrorPage {
    pub status: StatusCode,
    pub title: &'static str,
    pub message: String,
    pub code: &'static str,
    pub stage: &'static str,
    pub fix: String,
}

impl ErrorPage {
    pub fn invalid_request(
        code: &'static str,
        stage: &'static str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        ErrorPage {
            status: StatusCode::BAD_REQUEST,
            title: "Authorization request invalid",
            message: message.into(),
            code,
            stage,
            fix: fix.into(),
        }
    }

    pub fn render(&self, request_id: &str) -> Response {
        let status = self.status.as_u16().to_string();
        let body = fill(
            ERROR,
            &[
                ("title", self.title),
                ("message", &self.message),
                ("code", self.code),
                ("stage", self.stage),
                ("request_id", request_id),
                ("fix", &self.fix),
                ("status", &status),
            ],
        );
        html(self.status, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_it_fills() {
        let page = consent(&Consent {
            client_name: "<script>alert(1)</script>",
            route: "/mcp/a",
            subject: "a\"b",
            setup_url: "/__zuplo/oauth/setup",
            state: "x'y",
        });
        assert!(!page.contains("<script>alert"));
        assert!(page.contains("&lt;script&gt;"));
        assert!(page.contains("value=\"x&#39;y\""));
        assert!(page.contains(r#"<button type="submit" name="decision" value="approve""#));
        assert!(page.contains(r#"<button type="submit" name="decision" value="cancel""#));
    }
}
