//! Server-rendered HTML that every browser-facing surface shares (SPEC §3.3): escaping, the
//! template filler, the headers of every page, and the browser error page ([`ErrorPage`]).
//! No external assets, no JavaScript. Pages with their own content (consent, setup) live with
//! their owners and fill their templates here.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const ERROR: &str = include_str!("../../templates/pages/error.html");

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

pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (k, v) in values {
        out = out.replace(&format!("{{{{{k}}}}}"), &escape(v));
    }
    out
}

/// Headers every HTML page of the gateway carries (§3.7).
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

impl IntoResponse for ErrorPage {
    /// A page without a request id (callers that have one use [`ErrorPage::render`]).
    fn into_response(self) -> Response {
        self.render("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_escapes_every_value() {
        let out = fill(
            "<p>{{a}}</p><i title=\"{{b}}\">",
            &[("a", "<b>&"), ("b", "x\"y'z")],
        );
        assert_eq!(out, "<p>&lt;b&gt;&amp;</p><i title=\"x&quot;y&#39;z\">");
    }

    #[test]
    fn error_pages_carry_the_page_headers() {
        let resp = ErrorPage::invalid_request("c", "s", "m", "f").render("req-1");
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(resp.headers()[header::X_FRAME_OPTIONS], "DENY");
    }
}
