//! `audit-log-inbound` at run time (SPEC §16.7, D21).
//!
//! Owns: the CloudEvents-style record of one request and where it goes. The policy never
//! rejects: when it runs (and the request is sampled) it notes the request as it is at that
//! point ([`Pending`]); once the response is known the record is finished with the final
//! status and `request.user` and written to the dev log (target `mcpgw::audit`, one JSON line)
//! and, with `mcpgw dev --audit-log FILE`, appended to FILE as a JSON line. A write failure is
//! logged and never fails the request. Header values other than the user agent, and tokens,
//! never enter a record.

use crate::config::policies::audit_log::AuditLog;
use axum::http::{HeaderMap, Method, StatusCode, header};
use serde_json::{Map, Value, json};
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// What a request looked like when the policy ran.
#[derive(Debug, Clone)]
pub struct Pending {
    record: Map<String, Value>,
    include_user: bool,
}

/// The request as the policy sees it.
pub struct Seen<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub client_ip: Option<IpAddr>,
    pub request_id: &'a str,
}

/// A number in [0, 1) from the system's random source (the request ids' generator).
fn random_unit() -> f64 {
    (uuid::Uuid::new_v4().as_u128() >> 75) as f64 / (1u64 << 53) as f64
}

/// Whether this request gets a record (`samplingRate`).
pub fn sampled(p: &AuditLog) -> bool {
    p.sampling_rate >= 1.0 || random_unit() < p.sampling_rate
}

/// The record's request half, when the request is sampled.
pub fn begin(p: &AuditLog, req: &Seen<'_>) -> Option<Pending> {
    if !sampled(p) {
        return None;
    }
    let bucket = p.bucket_id.as_deref().unwrap_or("local");
    let mut url = req.path.to_string();
    if p.include.query_params
        && let Some(q) = req.query.filter(|q| !q.is_empty())
    {
        url = format!("{url}?{q}");
    }
    let mut record = Map::new();
    record.insert("specversion".into(), json!("1.0"));
    record.insert("id".into(), json!(uuid::Uuid::new_v4().to_string()));
    record.insert(
        "source".into(),
        json!(format!("//zuplo.com/buckets/{bucket}/api-gateway")),
    );
    record.insert(
        "type".into(),
        json!(format!("{}.request", p.event_type_base)),
    );
    record.insert("time".into(), json!(crate::web::problem::now_rfc3339()));
    record.insert("bucketid".into(), json!(bucket));
    record.insert("requestid".into(), json!(req.request_id));
    record.insert("httpmethod".into(), json!(req.method.as_str()));
    record.insert("httpurl".into(), json!(url));
    if p.include.ip_address {
        record.insert(
            "ipaddress".into(),
            json!(req.client_ip.map(|ip| ip.to_string())),
        );
    }
    let agent = req
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    record.insert("useragent".into(), json!(agent));
    if p.include.geolocation {
        // no geolocation on a local connection
        for k in ["country", "region", "city"] {
            record.insert(k.into(), Value::Null);
        }
    }
    Some(Pending {
        record,
        include_user: p.include.user,
    })
}

impl Pending {
    /// The whole record, once the response's status is known; `user` is `request.user` then.
    pub fn finish(self, user: Option<&Value>, status: StatusCode) -> Value {
        let mut record = self.record;
        if self.include_user {
            let sub = user.and_then(|u| u.get("sub")).filter(|s| !s.is_null());
            record.insert("actorsub".into(), sub.cloned().unwrap_or(Value::Null));
            record.insert(
                "actortype".into(),
                json!(if sub.is_some() { "user" } else { "anonymous" }),
            );
        }
        let code = status.as_u16();
        record.insert("httpstatus".into(), json!(code));
        record.insert("success".into(), json!((200..400).contains(&code)));
        Value::Object(record)
    }
}

/// Where finished records go: the dev log always, and a file when asked.
#[derive(Default, Clone)]
pub struct AuditSink {
    file: Option<Arc<Mutex<std::fs::File>>>,
    path: Option<PathBuf>,
}

impl AuditSink {
    /// Records also appended to `path` (created 0600 when missing).
    pub fn with_file(path: &Path) -> std::io::Result<Self> {
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(path)?;
        Ok(AuditSink {
            file: Some(Arc::new(Mutex::new(file))),
            path: Some(path.to_path_buf()),
        })
    }

    /// Writes one record; failures go to the log, never to the caller.
    pub async fn emit(&self, record: Value) {
        let line = record.to_string();
        tracing::info!(target: "mcpgw::audit", "{line}");
        let Some(file) = self.file.clone() else {
            return;
        };
        let written = tokio::task::spawn_blocking(move || {
            let mut f = match file.lock() {
                Ok(f) => f,
                Err(poisoned) => poisoned.into_inner(),
            };
            writeln!(f, "{line}").and_then(|()| f.flush())
        })
        .await;
        let failure = match written {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e.to_string(),
            Err(e) => e.to_string(),
        };
        let path = self
            .path
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        tracing::error!(target: "mcpgw::audit", path = %path, error = %failure, "the audit record could not be written");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::policies::audit_log::Include;

    fn policy(rate: f64, include: Include) -> AuditLog {
        AuditLog {
            event_type_base: "com.acme".into(),
            bucket_id: Some("b1".into()),
            sampling_rate: rate,
            include,
        }
    }

    const ALL: Include = Include {
        query_params: true,
        user: true,
        ip_address: true,
        geolocation: true,
    };

    fn seen<'a>(headers: &'a HeaderMap, method: &'a Method) -> Seen<'a> {
        Seen {
            method,
            path: "/api/x",
            query: Some("a=1"),
            headers,
            client_ip: "127.0.0.1".parse().ok(),
            request_id: "rid-1",
        }
    }

    #[test]
    fn the_record_has_the_fields_of_the_spec() {
        let mut h = HeaderMap::new();
        h.insert(header::USER_AGENT, "curl/8".parse().unwrap());
        h.insert(
            header::AUTHORIZATION,
            "Bearer secret-token".parse().unwrap(),
        );
        let m = Method::POST;
        let user = json!({"sub": "alice", "data": {}});
        let r = begin(&policy(1.0, ALL), &seen(&h, &m))
            .unwrap()
            .finish(Some(&user), StatusCode::CREATED);
        assert_eq!(r["specversion"], "1.0");
        assert_eq!(r["type"], "com.acme.request");
        assert_eq!(r["source"], "//zuplo.com/buckets/b1/api-gateway");
        assert_eq!(r["bucketid"], "b1");
        assert_eq!(r["requestid"], "rid-1");
        assert_eq!(r["httpmethod"], "POST");
        assert_eq!(r["httpurl"], "/api/x?a=1");
        assert_eq!(r["ipaddress"], "127.0.0.1");
        assert_eq!(r["useragent"], "curl/8");
        assert_eq!(r["actorsub"], "alice");
        assert_eq!(r["actortype"], "user");
        assert_eq!(r["httpstatus"], 201);
        assert_eq!(r["success"], true);
        assert!(r["country"].is_null());
        assert!(!r.to_string().contains("secret-token"));
    }

    #[test]
    fn include_flags_leave_fields_out() {
        let h = HeaderMap::new();
        let m = Method::GET;
        let none = Include {
            query_params: false,
            user: false,
            ip_address: false,
            geolocation: false,
        };
        let r = begin(&policy(1.0, none), &seen(&h, &m))
            .unwrap()
            .finish(None, StatusCode::FORBIDDEN);
        assert_eq!(r["httpurl"], "/api/x");
        for k in ["ipaddress", "actorsub", "actortype", "country"] {
            assert!(r.get(k).is_none(), "{k}");
        }
        assert_eq!(r["success"], false);
        let anon = begin(&policy(1.0, ALL), &seen(&h, &m))
            .unwrap()
            .finish(None, StatusCode::OK);
        assert_eq!(anon["actortype"], "anonymous");
        assert!(anon["actorsub"].is_null());
    }

    #[test]
    fn sampling() {
        let h = HeaderMap::new();
        let m = Method::GET;
        assert!(begin(&policy(0.0, ALL), &seen(&h, &m)).is_none());
        let hits = (0..2000).filter(|_| sampled(&policy(0.5, ALL))).count();
        assert!((700..1300).contains(&hits), "{hits}");
        for _ in 0..1000 {
            let u = random_unit();
            assert!((0.0..1.0).contains(&u));
        }
    }

    #[tokio::test]
    async fn the_file_gets_one_json_line_per_record_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let sink = AuditSink::with_file(&path).unwrap();
        sink.emit(json!({"n": 1})).await;
        sink.emit(json!({"n": 2})).await;
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "{\"n\":1}\n{\"n\":2}\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
