//! `query-param-to-header-inbound` at run time (SPEC §16.5, D24).
//!
//! Owns: moving a query parameter into a header. The parameter's first value (as
//! `URLSearchParams.get` reads it) replaces the first `{value}` of the template, and the header
//! is set, replacing any value it had. The parameter leaves the URL only when `removeFromUrl`
//! is truthy (7.6.4's reading; the docs' default differs, rule 95); every other parameter is
//! kept byte for byte.

use crate::config::policies::query_param::QueryParamToHeader;
use axum::http::{HeaderMap, HeaderName, HeaderValue};

/// Why the header could not be set: JavaScript's `Headers.set` throws, which the runtime
/// answers with a 500 problem carrying the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryParamError {
    #[error("Invalid header name {0:?}")]
    HeaderName(String),
    #[error("The value of query parameter {0:?} cannot be sent in a header")]
    HeaderValue(String),
}

/// Applies the policy to the request's headers and query.
pub fn apply(
    p: &QueryParamToHeader,
    headers: &mut HeaderMap,
    query: &mut Option<String>,
) -> Result<(), QueryParamError> {
    let Some(q) = query.as_deref() else {
        return Ok(());
    };
    let Some(value) = url::form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == p.query_param.as_str())
        .map(|(_, v)| v.into_owned())
    else {
        return Ok(());
    };
    let name = HeaderName::from_bytes(p.header_name.as_bytes())
        .map_err(|_| QueryParamError::HeaderName(p.header_name.clone()))?;
    let header = p.header_value.replacen("{value}", &value, 1);
    let header = HeaderValue::from_str(&header)
        .map_err(|_| QueryParamError::HeaderValue(p.query_param.clone()))?;
    headers.insert(name, header);
    if p.remove_from_url {
        let kept = without_param(q, &p.query_param);
        *query = (!kept.is_empty()).then_some(kept);
    }
    Ok(())
}

/// `query` without the pairs named `param` (decoded comparison); the rest as written.
fn without_param(query: &str, param: &str) -> String {
    query
        .split('&')
        .filter(|pair| {
            let key = pair.split('=').next().unwrap_or_default();
            url::form_urlencoded::parse(key.as_bytes())
                .next()
                .is_none_or(|(k, _)| k != param)
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(remove: bool) -> QueryParamToHeader {
        QueryParamToHeader {
            query_param: "api-key".into(),
            header_name: "Authorization".into(),
            header_value: "Bearer {value} ({value})".into(),
            remove_from_url: remove,
        }
    }

    #[test]
    fn sets_the_header_from_the_first_value_and_keeps_the_url() {
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_static("Basic old"));
        let mut q = Some("a=1&api-key=k%2B1&api-key=second".to_string());
        apply(&policy(false), &mut h, &mut q).unwrap();
        assert_eq!(h["authorization"], "Bearer k+1 ({value})");
        assert_eq!(h.get_all("authorization").iter().count(), 1);
        assert_eq!(q.as_deref(), Some("a=1&api-key=k%2B1&api-key=second"));
    }

    #[test]
    fn removes_every_occurrence_only_when_asked() {
        let mut h = HeaderMap::new();
        let mut q = Some("x=%20a&api-key=k&api%2Dkey=j&b".to_string());
        apply(&policy(true), &mut h, &mut q).unwrap();
        assert_eq!(q.as_deref(), Some("x=%20a&b"));
        let mut q = Some("api-key=k".to_string());
        apply(&policy(true), &mut h, &mut q).unwrap();
        assert_eq!(q, None);
    }

    #[test]
    fn an_absent_parameter_changes_nothing() {
        let mut h = HeaderMap::new();
        let mut q = Some("other=1".to_string());
        apply(&policy(true), &mut h, &mut q).unwrap();
        assert!(h.is_empty());
        assert_eq!(q.as_deref(), Some("other=1"));
        let mut none = None;
        apply(&policy(true), &mut h, &mut none).unwrap();
        assert!(h.is_empty());
    }

    #[test]
    fn a_value_that_cannot_be_a_header_is_an_error() {
        let mut h = HeaderMap::new();
        let mut q = Some("api-key=a%0Ab".to_string());
        let e = apply(&policy(true), &mut h, &mut q).unwrap_err();
        assert_eq!(e, QueryParamError::HeaderValue("api-key".into()));
        assert!(h.is_empty());
    }
}
