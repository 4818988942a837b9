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

/// The kinds of browser error page (§3.3), each with its title and usual status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    SessionExpired,
    AccessDenied,
    ConfigurationError,
    ConnectionFailed,
    InvalidRequest,
    AdminRequired,
    InternalError,
    AuthorizationFailed,
    /// The upstream connect flow (§3.14, §3.15).
    UpstreamConnectionFailed,
}

impl PageKind {
    pub fn title(self) -> &'static str {
        match self {
            PageKind::SessionExpired => "Authorization expired",
            PageKind::AccessDenied => "Authorization canceled",
            PageKind::ConfigurationError => "Configuration needs attention",
            PageKind::ConnectionFailed => "Connection failed",
            PageKind::InvalidRequest => "Authorization request invalid",
            PageKind::AdminRequired => "Admin setup required",
            PageKind::InternalError => "Gateway error",
            PageKind::AuthorizationFailed => "Authorization failed",
            PageKind::UpstreamConnectionFailed => "Upstream connection failed",
        }
    }

    /// The status a page of this kind has unless its maker says otherwise.
    pub fn status(self) -> StatusCode {
        match self {
            PageKind::ConfigurationError | PageKind::InternalError => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            PageKind::AdminRequired => StatusCode::FORBIDDEN,
            PageKind::UpstreamConnectionFailed => StatusCode::BAD_GATEWAY,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// A browser error page: kind (title), message and the developer-details block (§3.3).
/// [`ErrorPage::render`] is the one place that turns it into a response.
#[derive(Debug, Clone)]
pub struct ErrorPage {
    pub status: StatusCode,
    pub kind: PageKind,
    pub message: String,
    /// The gateway code (§3.1) shown as the error code.
    pub code: &'static str,
    pub stage: &'static str,
    pub fix: String,
}

impl ErrorPage {
    /// A page of `kind` with the kind's usual status.
    pub fn new(
        kind: PageKind,
        code: &'static str,
        stage: &'static str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        ErrorPage {
            status: kind.status(),
            kind,
            message: message.into(),
            code,
            stage,
            fix: fix.into(),
        }
    }

    pub fn invalid_request(
        code: &'static str,
        stage: &'static str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        ErrorPage::new(PageKind::InvalidRequest, code, stage, message, fix)
    }

    /// The same page with another status.
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    pub fn render(&self, request_id: &str) -> Response {
        let status = self.status.as_u16().to_string();
        let body = fill(
            ERROR,
            &[
                ("title", self.kind.title()),
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
    fn page_kinds_give_title_and_usual_status() {
        let p = ErrorPage::new(PageKind::InternalError, "internal_error", "s", "m", "f");
        assert_eq!(p.status, StatusCode::INTERNAL_SERVER_ERROR);
        let p = ErrorPage::new(
            PageKind::SessionExpired,
            "oauth_state_expired",
            "s",
            "m",
            "f",
        )
        .with_status(StatusCode::GONE);
        assert_eq!(p.status, StatusCode::GONE);
        assert_eq!(p.kind.title(), "Authorization expired");
        assert_eq!(PageKind::AccessDenied.title(), "Authorization canceled");
    }

    #[test]
    fn error_pages_carry_the_page_headers() {
        let resp = ErrorPage::invalid_request("c", "s", "m", "f").render("req-1");
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(resp.headers()[header::X_FRAME_OPTIONS], "DENY");
    }
}
