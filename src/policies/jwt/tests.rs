//! Every refusal of §16.2 and the local issuer, against an HS256 secret and a real RSA key.

use super::*;
use crate::config::policies::jwt::{JwtProvider, RequiredClaim};
use crate::policies::local_issuer::{self, LocalIssuer};
use axum::http::HeaderValue;
use jsonwebtoken::{EncodingKey, Header};

const SECRET: &str = "test-secret-test-secret-test-secret";

fn policy() -> JwtPolicy {
    JwtPolicy {
        provider: JwtProvider::OpenId,
        issuer: Some("https://id.example/".into()),
        audience: Some("api".into()),
        keys: KeySource::Secret(crate::secret::Secret::new(SECRET)),
        auth_header: "Authorization".into(),
        allow_unauthenticated: false,
        sub_property: "sub".into(),
        oauth_resource_metadata: false,
        required_claims: Vec::new(),
    }
}

fn now() -> i64 {
    crate::clock::now_unix()
}

fn hs(claims: Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

fn good_claims() -> Value {
    json!({"iss": "https://id.example/", "aud": "api", "sub": "alice", "exp": now() + 60, "role": "x"})
}

async fn check(
    rt: &JwtRuntime,
    p: &JwtPolicy,
    auth: Option<&str>,
    prm: bool,
) -> Result<Value, Refusal> {
    let mut headers = HeaderMap::new();
    if let Some(a) = auth {
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(a).unwrap());
    }
    let req = JwtRequest {
        headers: &headers,
        path: "/api/x",
        origin: "http://localhost:9000",
        prm_route_exists: prm,
    };
    verify(rt, p, &req).await
}

fn detail(r: Result<Value, Refusal>) -> String {
    r.unwrap_err().to_string()
}

#[tokio::test]
async fn header_refusals_in_order() {
    let rt = JwtRuntime::default();
    let mut p = policy();
    assert_eq!(
        detail(check(&rt, &p, None, true).await),
        "No authorization header"
    );
    p.oauth_resource_metadata = true;
    assert_eq!(
        detail(check(&rt, &p, None, false).await),
        "No authorization header"
    );
    let r = check(&rt, &p, None, true).await.unwrap_err();
    assert_eq!(r.to_string(), "Bearer token required");
    let problem = r.problem();
    assert_eq!(problem.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        problem.headers[0].1,
        "Bearer resource_metadata=\"http://localhost:9000/.well-known/oauth-protected-resource/api/x\""
    );
    assert_eq!(
        detail(check(&rt, &p, Some("Basic abc"), true).await),
        "Invalid bearer token format for authorization header"
    );
    assert_eq!(
        detail(check(&rt, &p, Some("Bearer    "), true).await),
        "No bearer token on authorization header"
    );
    // the scheme is case-insensitive; other refusals carry no challenge
    let r = check(&rt, &p, Some("bEaReR x.y.z"), true)
        .await
        .unwrap_err();
    assert_eq!(r.to_string(), "Invalid token");
    assert!(r.problem().headers.is_empty());
}

#[tokio::test]
async fn token_checks() {
    let rt = JwtRuntime::default();
    let p = policy();
    let user = check(
        &rt,
        &p,
        Some(&format!("Bearer {}", hs(good_claims()))),
        false,
    )
    .await
    .unwrap();
    assert_eq!(user["sub"], "alice");
    assert_eq!(user["data"]["role"], "x");
    let mut bad = Vec::new();
    for (k, v) in [
        ("iss", json!("https://other/")),
        ("aud", json!("other")),
        ("exp", json!(now() - 5)),
    ] {
        let mut c = good_claims();
        c[k] = v;
        bad.push(hs(c));
    }
    // a changed signature character: not the last one, whose low bits are padding that a
    // decoder may ignore (then the "tampered" token would still be valid, now and then)
    let good = hs(good_claims());
    let at = good.rfind('.').expect("a JWT") + 1;
    let mut tampered = good.into_bytes();
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    bad.push(String::from_utf8(tampered).expect("ASCII"));
    bad.push(
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &good_claims(),
            &EncodingKey::from_secret(b"another secret"),
        )
        .unwrap(),
    );
    for t in bad {
        assert_eq!(
            detail(check(&rt, &p, Some(&format!("Bearer {t}")), false).await),
            "Invalid token",
            "{t}"
        );
    }
    let mut c = good_claims();
    c.as_object_mut().unwrap().remove("sub");
    assert_eq!(
        detail(check(&rt, &p, Some(&format!("Bearer {}", hs(c))), false).await),
        "Token is not valid, no 'sub' property found."
    );
}

#[tokio::test]
async fn supabase_required_claims() {
    let rt = JwtRuntime::default();
    let mut p = policy();
    p.required_claims = vec![RequiredClaim {
        claim: "user_role".into(),
        allowed: vec![json!("admin")],
    }];
    let mut c = good_claims();
    assert_eq!(
        detail(check(&rt, &p, Some(&format!("Bearer {}", hs(c.clone()))), false).await),
        "Invalid JWT token - missing valid claims: user_role"
    );
    c["app_metadata"] = json!({"user_role": "admin"});
    assert!(
        check(&rt, &p, Some(&format!("Bearer {}", hs(c))), false)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn local_issuer_tokens_pass_only_under_local_idp() {
    let dir = tempfile::tempdir().unwrap();
    let pem = crate::store::local_idp_key::load_or_create(dir.path()).unwrap();
    let issuer = Arc::new(LocalIssuer::from_pkcs8_pem(pem.expose()).unwrap());
    let p = policy();
    let claims = local_issuer::claims_for(&p, "bob", now(), 60, &[]);
    let token = issuer.sign(&claims).unwrap();
    let auth = format!("Bearer {token}");
    let without = JwtRuntime::default();
    assert_eq!(
        detail(check(&without, &p, Some(&auth), false).await),
        "Invalid token"
    );
    let with = JwtRuntime {
        local: Some(issuer.clone()),
        ..Default::default()
    };
    let user = check(&with, &p, Some(&auth), false).await.unwrap();
    assert_eq!(user["sub"], "bob");
    assert_eq!(user["data"]["iss"], "https://id.example/");
    // the policy's checks still apply to local tokens
    let mut other = policy();
    other.audience = Some("another-api".into());
    assert_eq!(
        detail(check(&with, &other, Some(&auth), false).await),
        "Invalid token"
    );
    // a policy with no issuer (unset IdP option under --local-idp) expects the local name
    let mut unset = policy();
    unset.issuer = None;
    unset.keys = KeySource::LocalOnly;
    let t = issuer
        .sign(&local_issuer::claims_for(&unset, "c", now(), 60, &[]))
        .unwrap();
    assert_eq!(
        check(&with, &unset, Some(&format!("Bearer {t}")), false)
            .await
            .unwrap()["data"]["iss"],
        local_issuer::LOCAL_ISSUER
    );
    assert_eq!(issuer.jwks()["keys"][0]["kid"], issuer.kid.as_str());
}
