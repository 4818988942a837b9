//! Error responses of the gateway: `application/problem+json` documents (SPEC §3.1, D7).
//!
//! Owns: the problem body shape (`type`, `title`, `status`, `detail`, `code` where a gateway code
//! exists, `instance`, `trace`), pretty-printed as the gateway does, and the constructors for the
//! statuses the proxy and pipeline answer with.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A problem document about to be sent.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    pub detail: String,
    /// The gateway's own error code, when there is one (`authentication_required`, …).
    pub code: Option<&'static str>,
    /// The request path (`instance`).
    pub instance: String,
    pub request_id: String,
    /// Extra headers (`allow`, `retry-after`, `www-authenticate`).
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Problem {
            status,
            detail: detail.into(),
            code: None,
            instance: String::new(),
            request_id: String::new(),
            headers: Vec::new(),
        }
    }

    pub fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    pub fn header(mut self, name: header::HeaderName, value: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.push((name, v));
        }
        self
    }

    pub fn at(mut self, instance: &str, request_id: &str) -> Self {
        self.instance = instance.to_string();
        self.request_id = request_id.to_string();
        self
    }

    pub fn body(&self) -> serde_json::Value {
        let status = self.status.as_u16();
        let mut doc = json!({
            "type": format!("https://httpproblems.com/http-status/{status}"),
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": status,
            "detail": self.detail,
        });
        if let Some(code) = self.code {
            doc["code"] = json!(code);
        }
        doc["instance"] = json!(self.instance);
        doc["trace"] = json!({
            "timestamp": now_rfc3339(),
            "requestId": self.request_id,
            "buildId": concat!("mcpgw-", env!("CARGO_PKG_VERSION")),
        });
        doc
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_string_pretty(&self.body()).unwrap_or_default();
        let mut resp = (self.status, body).into_response();
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        resp
    }
}

/// UTC time as RFC 3339 with seconds, without a date crate.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    rfc3339(secs)
}

/// Unix seconds → `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days, proleptic Gregorian).
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_000_000), "2026-11-18T11:06:40Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn body_shape() {
        let p = Problem::new(StatusCode::NOT_FOUND, "No route matches /x").at("/x", "req-1");
        let b = p.body();
        let keys: Vec<&str> = b.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["type", "title", "status", "detail", "instance", "trace"]
        );
        assert_eq!(b["type"], "https://httpproblems.com/http-status/404");
        assert_eq!(b["title"], "Not Found");
    }
}
