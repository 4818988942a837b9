//! The local state store (SPEC §5.6, D1, D2, D4, D9) against real SQLite files.

use mcpgw::client_metadata::ClientAuthMethod;
use mcpgw::crypto::{hash_token, new_id, new_token};
use mcpgw::secret::Secret;
use mcpgw::store::keyfile::{self, KeySource};
use mcpgw::store::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const T0: i64 = 1_800_000_000;
const RESOURCE: &str = "http://localhost:9000/mcp/linear";
const OP: &str = "linear-mcp";
const REDIRECT: &str = "http://127.0.0.1:5555/callback";
// RFC 7636 appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

struct Fx {
    dir: tempfile::TempDir,
    store: SqliteStore,
}

impl Fx {
    fn new() -> Fx {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("state.db")).unwrap();
        Fx { dir, store }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("state.db")
    }

    fn reopen(self) -> Fx {
        let Fx { dir, store } = self;
        drop(store);
        let store = SqliteStore::open(&dir.path().join("state.db")).unwrap();
        Fx { dir, store }
    }
}

fn alice() -> Principal {
    Principal {
        subject: "alice".into(),
        roles: vec!["mcp_user".into()],
    }
}

fn new_client(id: &str, method: ClientAuthMethod) -> NewClient {
    NewClient {
        id: id.into(),
        source: ClientSource::Dynamic,
        name: "Test client".into(),
        redirect_uris: vec![REDIRECT.into()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        authorization_grant_profiles_supported: vec![],
        token_endpoint_auth_method: method,
        jwks_uri: None,
        jwks: None,
        ttl_seconds: Some(ttl::CLIENT),
    }
}

/// Registers a public client and returns its id.
fn public_client(s: &dyn Store, id: &str) -> String {
    match s
        .register_client(&new_client(id, ClientAuthMethod::None), T0)
        .unwrap()
    {
        RegisterClientOutcome::Registered { client, secret } => {
            assert!(secret.is_none());
            client.id
        }
        other => panic!("{other:?}"),
    }
}

fn start_req(id: &str, client_id: &str, initial: InitialPhase) -> StartAuthorization {
    StartAuthorization {
        id: id.into(),
        client_id: client_id.into(),
        redirect_uri: REDIRECT.into(),
        resource: RESOURCE.into(),
        operation_id: OP.into(),
        scope: "mcp:tools".into(),
        code_challenge: CHALLENGE.into(),
        client_state: Some("client-state".into()),
        issuer: "http://127.0.0.1:9000/mcp".into(),
        initial,
        ttl_seconds: ttl::PENDING_AUTHORIZATION,
    }
}

fn start(s: &dyn Store, id: &str, client_id: &str, initial: InitialPhase) -> Secret {
    match s
        .start_authorization(&start_req(id, client_id, initial), T0)
        .unwrap()
    {
        StartAuthorizationOutcome::Started { state_token, .. } => state_token,
        other => panic!("{other:?}"),
    }
}

fn decide(
    s: &dyn Store,
    id: &str,
    token: &Secret,
    subject: &str,
    d: SetupDecision,
    now: i64,
) -> DecideSetupOutcome {
    s.decide_authorization_setup(
        &DecideSetup {
            id: id.into(),
            state_token: token.clone(),
            subject: subject.into(),
            decision: d,
            code_ttl_seconds: ttl::AUTHORIZATION_CODE,
        },
        now,
    )
    .unwrap()
}

/// Start (already logged in) and approve: a fresh code.
fn code_for(s: &dyn Store, client_id: &str) -> Secret {
    let id = new_id();
    let token = start(s, &id, client_id, InitialPhase::AwaitingSetup(alice()));
    match decide(s, &id, &token, "alice", SetupDecision::Approve, T0) {
        DecideSetupOutcome::Approved { code, .. } => code,
        other => panic!("{other:?}"),
    }
}

fn exchange_req(client: ClientAuth, code: &Secret) -> ExchangeCode {
    ExchangeCode {
        client,
        code: code.clone(),
        redirect_uri: REDIRECT.into(),
        code_verifier: Secret::new(VERIFIER),
        resource: Some(RESOURCE.into()),
        access_token_ttl_seconds: ttl::ACCESS_TOKEN,
        grant_ttl_seconds: ttl::GRANT,
    }
}

fn exchange(s: &dyn Store, client_id: &str, code: &Secret, now: i64) -> ExchangeCodeOutcome {
    s.exchange_authorization_code(&exchange_req(ClientAuth::public(client_id), code), now)
        .unwrap()
}

/// A client, a code and its tokens.
fn tokens(s: &dyn Store, client_id: &str) -> IssuedTokens {
    let code = code_for(s, client_id);
    match exchange(s, client_id, &code, T0) {
        ExchangeCodeOutcome::Exchanged(t) => *t,
        other => panic!("{other:?}"),
    }
}

fn refresh(s: &dyn Store, client_id: &str, token: &Secret, now: i64) -> RefreshOutcome {
    s.refresh_token(
        &RefreshRequest {
            client: ClientAuth::public(client_id),
            refresh_token: token.clone(),
            resource: None,
            access_token_ttl_seconds: ttl::ACCESS_TOKEN,
            grace_seconds: ttl::REFRESH_GRACE,
        },
        now,
    )
    .unwrap()
}

fn rotated(o: RefreshOutcome) -> IssuedTokens {
    match o {
        RefreshOutcome::Rotated(t) => *t,
        other => panic!("{other:?}"),
    }
}

fn validate(s: &dyn Store, token: &Secret, now: i64) -> ValidateOutcome {
    s.validate_access_token(token, now).unwrap()
}

fn revoke(
    s: &dyn Store,
    client_id: &str,
    token: &Secret,
    hint: Option<TokenTypeHint>,
) -> RevokeOutcome {
    s.revoke_oauth_token(
        &RevokeRequest {
            client: ClientAuth::public(client_id),
            token: token.clone(),
            hint,
        },
        T0 + 1,
    )
    .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------------

#[test]
fn register_and_read_clients() {
    let fx = Fx::new();
    let s = &fx.store;
    let id = public_client(s, "dcr:1");
    let client = s.read_client(&id, T0).unwrap().unwrap();
    assert_eq!(client.redirect_uris, vec![REDIRECT.to_string()]);
    assert_eq!(client.token_endpoint_auth_method, ClientAuthMethod::None);
    assert_eq!(client.expires_at, Some(T0 + ttl::CLIENT));
    assert!(client.secret_hash.is_none());

    // A DCR collision.
    assert!(matches!(
        s.register_client(&new_client("dcr:1", ClientAuthMethod::None), T0)
            .unwrap(),
        RegisterClientOutcome::AlreadyExists
    ));
    // Unknown and expired clients read as absent.
    assert!(s.read_client("dcr:nope", T0).unwrap().is_none());
    assert!(s.read_client(&id, T0 + ttl::CLIENT).unwrap().is_none());
    assert!(s.read_client(&id, T0 + ttl::CLIENT - 1).unwrap().is_some());

    // Confidential clients get a secret, stored only as its hash.
    let RegisterClientOutcome::Registered { client, secret } = s
        .register_client(
            &new_client("dcr:2", ClientAuthMethod::ClientSecretBasic),
            T0,
        )
        .unwrap()
    else {
        panic!()
    };
    let secret = secret.unwrap();
    assert_eq!(secret.expose().len(), 43);
    assert_eq!(client.secret_hash, Some(hash_token(secret.expose())));

    // A metadata document registers again (refresh), replacing the record.
    let mut cimd = new_client("https://client.example/meta.json", ClientAuthMethod::None);
    cimd.source = ClientSource::MetadataDocument;
    cimd.ttl_seconds = None;
    assert!(matches!(
        s.register_client(&cimd, T0).unwrap(),
        RegisterClientOutcome::Registered { .. }
    ));
    cimd.name = "Renamed".into();
    assert!(matches!(
        s.register_client(&cimd, T0 + 5).unwrap(),
        RegisterClientOutcome::Registered { .. }
    ));
    let read = s.read_client(&cimd.id, T0 + 10).unwrap().unwrap();
    assert_eq!(read.name, "Renamed");
    assert_eq!(read.expires_at, None);
}

#[test]
fn client_authentication_by_method() {
    let fx = Fx::new();
    let s = &fx.store;
    let RegisterClientOutcome::Registered { client, secret } = s
        .register_client(
            &new_client("dcr:conf", ClientAuthMethod::ClientSecretPost),
            T0,
        )
        .unwrap()
    else {
        panic!()
    };
    let secret = secret.unwrap();
    let with = |proof| ClientAuth {
        client_id: "dcr:conf".into(),
        proof,
    };
    assert!(with(ClientProof::Secret(secret.clone())).authenticates(&client, T0));
    assert!(!with(ClientProof::Secret(Secret::new("wrong"))).authenticates(&client, T0));
    assert!(!with(ClientProof::None).authenticates(&client, T0));
    assert!(!with(ClientProof::VerifiedAssertion).authenticates(&client, T0));
    assert!(!with(ClientProof::Secret(secret)).authenticates(&client, T0 + ttl::CLIENT));

    // A confidential client's code exchange with a wrong secret: invalid_client.
    let code = code_for(s, "dcr:conf");
    let req = exchange_req(with(ClientProof::Secret(Secret::new("wrong"))), &code);
    assert!(matches!(
        s.exchange_authorization_code(&req, T0).unwrap(),
        ExchangeCodeOutcome::InvalidClient
    ));
}

// ---------------------------------------------------------------------------------------------
// Pending authorizations
// ---------------------------------------------------------------------------------------------

#[test]
fn start_authorization_outcomes() {
    let fx = Fx::new();
    let s = &fx.store;
    let client = public_client(s, "dcr:c");

    let StartAuthorizationOutcome::Started {
        pending,
        state_token,
    } = s
        .start_authorization(&start_req("tx1", &client, InitialPhase::AwaitingLogin), T0)
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(pending.phase, AuthorizationPhase::AwaitingLogin);
    assert_eq!(pending.expires_at, T0 + 900);
    assert!(pending.principal.is_none());
    assert_eq!(state_token.expose().len(), 43);

    assert!(matches!(
        s.start_authorization(&start_req("tx1", &client, InitialPhase::AwaitingLogin), T0)
            .unwrap(),
        StartAuthorizationOutcome::AlreadyExists
    ));
    assert!(matches!(
        s.start_authorization(
            &start_req("tx2", "dcr:unknown", InitialPhase::AwaitingLogin),
            T0
        )
        .unwrap(),
        StartAuthorizationOutcome::InvalidClient
    ));
    // An expired client is not a client.
    assert!(matches!(
        s.start_authorization(
            &start_req("tx2", &client, InitialPhase::AwaitingLogin),
            T0 + ttl::CLIENT
        )
        .unwrap(),
        StartAuthorizationOutcome::InvalidClient
    ));
    let mut req = start_req("tx3", &client, InitialPhase::AwaitingLogin);
    req.redirect_uri = "https://evil.example/cb".into();
    assert!(matches!(
        s.start_authorization(&req, T0).unwrap(),
        StartAuthorizationOutcome::RedirectUriMismatch
    ));
    // Loopback: any port (§3.6).
    req.redirect_uri = "http://127.0.0.1:61000/callback".into();
    assert!(matches!(
        s.start_authorization(&req, T0).unwrap(),
        StartAuthorizationOutcome::Started { .. }
    ));

    // With a session it starts at the consent step, principal known.
    let StartAuthorizationOutcome::Started { pending, .. } = s
        .start_authorization(
            &start_req("tx4", &client, InitialPhase::AwaitingSetup(alice())),
            T0,
        )
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(pending.phase, AuthorizationPhase::AwaitingSetup);
    assert_eq!(pending.principal, Some(alice()));
}

#[test]
fn read_pending_outcomes() {
    let fx = Fx::new();
    let s = &fx.store;
    let client = public_client(s, "dcr:c");
    let token = start(s, "tx", &client, InitialPhase::AwaitingLogin);

    match s.read_pending_authorization("tx", &token, T0 + 1).unwrap() {
        ReadPendingOutcome::Available(p) => {
            assert_eq!(p.resource, RESOURCE);
            assert_eq!(p.operation_id, OP);
            assert_eq!(p.code_challenge, CHALLENGE);
            assert_eq!(p.client_state.as_deref(), Some("client-state"));
        }
        other => panic!("{other:?}"),
    }
    // Reading does not spend the token.
    assert!(matches!(
        s.read_pending_authorization("tx", &token, T0 + 2).unwrap(),
        ReadPendingOutcome::Available(_)
    ));
    assert!(matches!(
        s.read_pending_authorization("tx", &new_token(), T0)
            .unwrap(),
        ReadPendingOutcome::StaleHash
    ));
    assert!(matches!(
        s.read_pending_authorization("nope", &token, T0).unwrap(),
        ReadPendingOutcome::Missing
    ));
    // 900 s transaction lifetime.
    assert!(matches!(
        s.read_pending_authorization("tx", &token, T0 + 899)
            .unwrap(),
        ReadPendingOutcome::Available(_)
    ));
    assert!(matches!(
        s.read_pending_authorization("tx", &token, T0 + 900)
            .unwrap(),
        ReadPendingOutcome::Expired
    ));
    // Finished transactions read as consumed.
    let setup = start(s, "tx2", &client, InitialPhase::AwaitingSetup(alice()));
    decide(s, "tx2", &setup, "alice", SetupDecision::Cancel, T0);
    assert!(matches!(
        s.read_pending_authorization("tx2", &setup, T0).unwrap(),
        ReadPendingOutcome::Consumed
    ));
}

#[test]
fn advance_pending_outcomes_and_single_use_tokens() {
    let fx = Fx::new();
    let s = &fx.store;
    let client = public_client(s, "dcr:c");
    let login = start(s, "tx", &client, InitialPhase::AwaitingLogin);

    let AdvancePendingOutcome::Advanced {
        pending,
        state_token: setup,
    } = s
        .advance_pending_authorization("tx", &login, &alice(), T0 + 5)
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(pending.phase, AuthorizationPhase::AwaitingSetup);
    assert_eq!(pending.principal, Some(alice()));
    assert_ne!(login, setup);

    // The login token is spent everywhere.
    assert!(matches!(
        s.advance_pending_authorization("tx", &login, &alice(), T0 + 6)
            .unwrap(),
        AdvancePendingOutcome::StaleHash
    ));
    assert!(matches!(
        s.read_pending_authorization("tx", &login, T0 + 6).unwrap(),
        ReadPendingOutcome::StaleHash
    ));
    assert!(matches!(
        decide(s, "tx", &login, "alice", SetupDecision::Approve, T0 + 6),
        DecideSetupOutcome::StaleHash
    ));
    // The setup token works, but not to log in again.
    assert!(matches!(
        s.advance_pending_authorization("tx", &setup, &alice(), T0 + 6)
            .unwrap(),
        AdvancePendingOutcome::WrongPhase
    ));
    assert!(matches!(
        s.read_pending_authorization("tx", &setup, T0 + 6).unwrap(),
        ReadPendingOutcome::Available(_)
    ));
    // After the decision the setup token is spent too.
    assert!(matches!(
        decide(s, "tx", &setup, "alice", SetupDecision::Approve, T0 + 7),
        DecideSetupOutcome::Approved { .. }
    ));
    assert!(matches!(
        decide(s, "tx", &setup, "alice", SetupDecision::Approve, T0 + 8),
        DecideSetupOutcome::ConsumedAlready
    ));
    assert!(matches!(
        s.advance_pending_authorization("tx", &setup, &alice(), T0 + 8)
            .unwrap(),
        AdvancePendingOutcome::Consumed
    ));

    assert!(matches!(
        s.advance_pending_authorization("nope", &login, &alice(), T0)
            .unwrap(),
        AdvancePendingOutcome::Missing
    ));
    let late = start(s, "tx-late", &client, InitialPhase::AwaitingLogin);
    assert!(matches!(
        s.advance_pending_authorization("tx-late", &late, &alice(), T0 + 900)
            .unwrap(),
        AdvancePendingOutcome::Expired
    ));
}

#[test]
fn mark_setup_approved_outcomes() {
    let fx = Fx::new();
    let s = &fx.store;
    let client = public_client(s, "dcr:c");
    let login = start(s, "tx", &client, InitialPhase::AwaitingLogin);
    assert!(matches!(
        s.mark_authorization_setup_approved("tx", &login, T0)
            .unwrap(),
        MarkSetupApprovedOutcome::WrongPhase
    ));
    let AdvancePendingOutcome::Advanced {
        state_token: setup, ..
    } = s
        .advance_pending_authorization("tx", &login, &alice(), T0)
        .unwrap()
    else {
        panic!()
    };
    match s
        .mark_authorization_setup_approved("tx", &setup, T0 + 1)
        .unwrap()
    {
        MarkSetupApprovedOutcome::Marked(p) => assert!(p.setup_approved),
        other => panic!("{other:?}"),
    }
    // The setup token stays valid (the page comes back after the upstream connect).
    match s.read_pending_authorization("tx", &setup, T0 + 2).unwrap() {
        ReadPendingOutcome::Available(p) => assert!(p.setup_approved),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        s.mark_authorization_setup_approved("tx", &login, T0)
            .unwrap(),
        MarkSetupApprovedOutcome::StaleHash
    ));
    assert!(matches!(
        s.mark_authorization_setup_approved("nope", &setup, T0)
            .unwrap(),
        MarkSetupApprovedOutcome::Missing
    ));
    assert!(matches!(
        s.mark_authorization_setup_approved("tx", &setup, T0 + 900)
            .unwrap(),
        MarkSetupApprovedOutcome::Expired
    ));
    decide(s, "tx", &setup, "alice", SetupDecision::Cancel, T0 + 3);
    assert!(matches!(
        s.mark_authorization_setup_approved("tx", &setup, T0 + 4)
            .unwrap(),
        MarkSetupApprovedOutcome::Consumed
    ));
}

#[test]
fn decide_setup_outcomes() {
    let fx = Fx::new();
    let s = &fx.store;
    let client = public_client(s, "dcr:c");
    let setup = start(s, "tx", &client, InitialPhase::AwaitingSetup(alice()));

    assert!(matches!(
        decide(s, "tx", &setup, "mallory", SetupDecision::Approve, T0),
        DecideSetupOutcome::PrincipalMismatch
    ));
    assert!(matches!(
        decide(s, "tx", &new_token(), "alice", SetupDecision::Approve, T0),
        DecideSetupOutcome::StaleHash
    ));
    assert!(matches!(
        decide(s, "nope", &setup, "alice", SetupDecision::Approve, T0),
        DecideSetupOutcome::Missing
    ));
    assert!(matches!(
        decide(s, "tx", &setup, "alice", SetupDecision::Approve, T0 + 900),
        DecideSetupOutcome::Expired
    ));
    match decide(s, "tx", &setup, "alice", SetupDecision::Approve, T0 + 10) {
        DecideSetupOutcome::Approved { pending, code } => {
            assert_eq!(pending.phase, AuthorizationPhase::CodeIssued);
            assert_eq!(code.expose().len(), 43);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        decide(s, "tx", &setup, "alice", SetupDecision::Cancel, T0 + 11),
        DecideSetupOutcome::ConsumedAlready
    ));

    let setup2 = start(s, "tx2", &client, InitialPhase::AwaitingSetup(alice()));
    match decide(s, "tx2", &setup2, "alice", SetupDecision::Cancel, T0) {
        DecideSetupOutcome::Cancelled(p) => {
            assert_eq!(p.phase, AuthorizationPhase::Cancelled);
            assert_eq!(p.client_state.as_deref(), Some("client-state"));
        }
        other => panic!("{other:?}"),
    }
    // Before the login the current token is a login token, not a setup token.
    let login = start(s, "tx3", &client, InitialPhase::AwaitingLogin);
    assert!(matches!(
        decide(s, "tx3", &login, "alice", SetupDecision::Approve, T0),
        DecideSetupOutcome::StaleHash
    ));
}

// ---------------------------------------------------------------------------------------------
// Codes and tokens
// ---------------------------------------------------------------------------------------------

#[test]
fn exchange_issues_bound_tokens() {
    let fx = Fx::new();
    let s = &fx.store;
    let client = public_client(s, "dcr:c");
    let t = tokens(s, &client);
    assert_eq!(t.access_expires_at, T0 + 900);
    assert_eq!(t.grant.expires_at, T0 + 315_360_000);
    assert_eq!(t.grant.subject, "alice");
    assert_eq!(t.grant.roles, vec!["mcp_user".to_string()]);
    assert_eq!(
        t.grant.current_refresh_hash,
        hash_token(t.refresh_token.expose())
    );
    assert_ne!(t.access_token, t.refresh_token);
    match validate(s, &t.access_token, T0 + 1) {
        ValidateOutcome::Valid(a) => {
            assert_eq!(a.resource, RESOURCE);
            assert_eq!(a.operation_id, OP);
            assert_eq!(a.subject, "alice");
            assert_eq!(a.client_id, client);
            assert_eq!(a.grant_id, t.grant.id);
            assert_eq!(a.token_hash, hash_token(t.access_token.expose()));
        }
        other => panic!("{other:?}"),
    }
    // Nothing secret in Debug output.
    let debug = format!("{t:?}");
    assert!(!debug.contains(t.access_token.expose()));
    assert!(!debug.contains(t.refresh_token.expose()));

    // The access token's life is capped by the grant's (§5.2).
    let code = code_for(s, &client);
    let mut req = exchange_req(ClientAuth::public(&client), &code);
    req.grant_ttl_seconds = 100;
    let ExchangeCodeOutcome::Exchanged(short) = s.exchange_authorization_code(&req, T0).unwrap()
    else {
        panic!()
    };
    assert_eq!(short.access_expires_at, T0 + 100);
    // Resource is optional at the token endpoint (D3).
    let code = code_for(s, &client);
    let mut req = exchange_req(ClientAuth::public(&client), &code);
    req.resource = None;
    assert!(matches!(
        s.exchange_authorization_code(&req, T0).unwrap(),
        ExchangeCodeOutcome::Exchanged(_)
    ));
}

#[test]
fn exchange_failure_outcomes() {
    let fx = Fx::new();
    let s = &fx.store;
    let client = public_client(s, "dcr:c");
    let other = public_client(s, "dcr:other");

    let code = code_for(s, &client);
    assert!(matches!(
        exchange(s, "dcr:unknown", &code, T0),
        ExchangeCodeOutcome::InvalidClient
    ));
    assert!(matches!(
        exchange(s, &client, &new_token(), T0),
        ExchangeCodeOutcome::Missing
    ));
    // Another (valid) client presenting the code.
    assert!(matches!(
        exchange(s, &other, &code, T0),
        ExchangeCodeOutcome::BindingMismatch
    ));
    let mut req = exchange_req(ClientAuth::public(&client), &code);
    req.code_verifier = Secret::new("x".repeat(43));
    assert!(matches!(
        s.exchange_authorization_code(&req, T0).unwrap(),
        ExchangeCodeOutcome::BindingMismatch
    ));
    let mut req = exchange_req(ClientAuth::public(&client), &code);
    req.redirect_uri = "http://127.0.0.1:5555/other".into();
    assert!(matches!(
        s.exchange_authorization_code(&req, T0).unwrap(),
        ExchangeCodeOutcome::BindingMismatch
    ));
    let mut req = exchange_req(ClientAuth::public(&client), &code);
    req.resource = Some("http://localhost:9000/mcp/other".into());
    assert!(matches!(
        s.exchange_authorization_code(&req, T0).unwrap(),
        ExchangeCodeOutcome::ResourceMismatch
    ));
    // None of the failures spent the code.
    assert!(matches!(
        exchange(s, &client, &code, T0),
        ExchangeCodeOutcome::Exchanged(_)
    ));
}

#[test]
fn codes_live_60_seconds() {
    let fx = Fx::new();
    let s = &fx.store;
    let client = public_client(s, "dcr:c");
    let code = code_for(s, &client);
    assert!(matches!(
        exchange(s, &client, &code, T0 + 60),
        ExchangeCodeOutcome::Expired
    ));
    let code = code_for(s, &client);
    assert!(matches!(
        exchange(s, &client, &code, T0 + 59),
        ExchangeCodeOutcome::Exchanged(_)
    ));
}

#[test]
fn d2_second_redemption_revokes_the_first_grant() {
    let fx = Fx::new();
    let s = &fx.store;
    let client = public_client(s, "dcr:c");
    let code = code_for(s, &client);
    let ExchangeCodeOutcome::Exchanged(first) = exchange(s, &client, &code, T0) else {
        panic!()
    };
    assert!(matches!(
        validate(s, &first.access_token, T0 + 1),
        ValidateOutcome::Valid(_)
    ));
    assert!(matches!(
        exchange(s, &client, &code, T0 + 2),
        ExchangeCodeOutcome::Consumed
    ));
    assert!(matches!(
        validate(s, &first.access_token, T0 + 3),
        ValidateOutcome::Revoked
    ));
    assert!(matches!(
        refresh(s, &client, &first.refresh_token, T0 + 3),
        RefreshOutcome::Revoked
    ));
    // A third try says consumed again.
    assert!(matches!(
        exchange(s, &client, &code, T0 + 4),
        ExchangeCodeOutcome::Consumed
    ));
}

#[test]
fn d1_refresh_current_token_rotates() {
    let fx = Fx::new();
    let s = &fx.store;
    let client = public_client(s, "dcr:c");
    let t0 = tokens(s, &client);
    let t1 = rotated(refresh(s, &client, &t0.refresh_token, T0 + 100));
    assert_ne!(t1.refresh_token, t0.refresh_token);
    assert_eq!(t1.grant.id, t0.grant.id);
    assert_eq!(
        t1.grant.previous_refresh_hash,
        Some(hash_token(t0.refresh_token.expose()))
    );
    assert_eq!(t1.grant.rotated_at, Some(T0 + 100));
    assert_eq!(t1.access_expires_at, T0 + 100 + 900);
    assert!(matches!(
        validate(s, &t1.access_token, T0 + 101),
        ValidateOutcome::Valid(_)
    ));
    // The old access token lives on until it expires.
    assert!(matches!(
        validate(s, &t0.access_token, T0 + 101),
        ValidateOutcome::Valid(_)
    ));
    let t2 = rotated(refresh(s, &client, &t1.refresh_token, T0 + 200));
    assert_ne!(t2.refresh_token, t1.refresh_token);
}

#[test]
fn d1_previous_token_within_30s_is_grace_and_leaves_the_grant() {
    let fx = Fx::new();
    let s = &fx.store;
    let client = public_client(s, "dcr:c");
    let t0 = tokens(s, &client);
    let t1 = rotated(refresh(s, &client, &t0.refresh_token, T0 + 100));
    assert!(matches!(
        refresh(s, &client, &t0.refresh_token, T0 + 100),
        RefreshOutcome::PreviousTokenGrace
    ));
    assert!(matches!(
        refresh(s, &client, &t0.refresh_token, T0 + 130),
        RefreshOutcome::PreviousTokenGrace
    ));
    // The grant still works.
    assert!(matches!(
        validate(s, &t1.access_token, T0 + 131),
        ValidateOutcome::Valid(_)
    ));
    let t2 = rotated(refresh(s, &client, &t1.refresh_token, T0 + 131));
    assert!(matches!(
        validate(s, &t2.access_token, T0 + 132),
        ValidateOutcome::Valid(_)
    ));
}

#[test]
fn d1_previous_token_after_30s_revokes_the_grant() {
    let fx = Fx::new();
    let s = &fx.store;
    let client = public_client(s, "dcr:c");
    let t0 = tokens(s, &client);
    let t1 = rotated(refresh(s, &client, &t0.refresh_token, T0 + 100));
    assert!(matches!(
        refresh(s, &client, &t0.refresh_token, T0 + 131),
        RefreshOutcome::Revoked
    ));
    for access in [&t0.access_token, &t1.access_token] {
        assert!(matches!(
            validate(s, access, T0 + 132),
            ValidateOutcome::Revoked
        ));
    }
    assert!(matches!(
        refresh(s, &client, &t1.refresh_token, T0 + 133),
        RefreshOutcome::Revoked
    ));
}

#[test]
fn d1_chained_race_within_30s_leaves_the_user_logged_in() {
    // issue #13: RT0 -> RT1, RT1 -> RT2 (the race winner refreshed again at once), then a late
    // duplicate of RT0: it was rotated within the grace window, so it is a concurrent refresh,
    // not theft (the grace follows time, not position)
    let fx = Fx::new();
    let s = &fx.store;
    let client = public_client(s, "dcr:c");
    let t0 = tokens(s, &client);
    let t1 = rotated(refresh(s, &client, &t0.refresh_token, T0 + 100));
    let t2 = rotated(refresh(s, &client, &t1.refresh_token, T0 + 100));
    for late in [&t0.refresh_token, &t1.refresh_token] {
        assert!(matches!(
            refresh(s, &client, late, T0 + 101),
            RefreshOutcome::PreviousTokenGrace
        ));
    }
    assert!(matches!(
        validate(s, &t2.access_token, T0 + 102),
        ValidateOutcome::Valid(_)
    ));
    let t3 = rotated(refresh(s, &client, &t2.refresh_token, T0 + 102));
    assert!(matches!(
        validate(s, &t3.access_token, T0 + 103),
        ValidateOutcome::Valid(_)
    ));
}

#[test]
fn d1_a_token_rotated_more_than_30s_ago_revokes_even_when_a_later_one_is_recent() {
    let fx = Fx::new();
    let s = &fx.store;
    let client = public_client(s, "dcr:c");
    let t0 = tokens(s, &client);
    let t1 = rotated(refresh(s, &client, &t0.refresh_token, T0 + 100));
    let t2 = rotated(refresh(s, &client, &t1.refresh_token, T0 + 140));
    // t1 was rotated 1 s ago (grace), t0 41 s ago: a replay, whatever came after it
    assert!(matches!(
        refresh(s, &client, &t0.refresh_token, T0 + 141),
        RefreshOutcome::Revoked
    ));
    assert!(matches!(
        validate(s, &t2.access_token, T0 + 142),
        ValidateOutcome::Revoked
    ));
    assert!(matches!(
        refresh(s, &client, &t2.refresh_token, T0 + 142),
        RefreshOutcome::Revoked
    ));
}

#[test]
fn refresh_other_outcomes() {
    let fx = Fx::new();
    let s = &fx.store;
    let client = public_client(s, "dcr:c");
    let other = public_client(s, "dcr:other");
    let t = tokens(s, &client);

    assert!(matches!(
        refresh(s, "dcr:unknown", &t.refresh_token, T0),
        RefreshOutcome::InvalidClient
    ));
    assert!(matches!(
        refresh(s, &client, &new_token(), T0),
        RefreshOutcome::Missing
    ));
    // Another client's token is not this client's grant (and is not revoked by the attempt).
    assert!(matches!(
        refresh(s, &other, &t.refresh_token, T0),
        RefreshOutcome::Missing
    ));
    let mut req = RefreshRequest {
        client: ClientAuth::public(&client),
        refresh_token: t.refresh_token.clone(),
        resource: Some("http://localhost:9000/mcp/other".into()),
        access_token_ttl_seconds: 900,
        grace_seconds: 30,
    };
    assert!(matches!(
        s.refresh_token(&req, T0).unwrap(),
        RefreshOutcome::ResourceMismatch
    ));
    req.resource = Some(RESOURCE.into());
    let t1 = rotated(s.refresh_token(&req, T0 + 1).unwrap());

    // Grant lifetime.
    let code = code_for(s, &client);
    let mut ex = exchange_req(ClientAuth::public(&client), &code);
    ex.grant_ttl_seconds = 1000;
    let ExchangeCodeOutcome::Exchanged(short) = s.exchange_authorization_code(&ex, T0).unwrap()
    else {
        panic!()
    };
    assert!(matches!(
        refresh(s, &client, &short.refresh_token, T0 + 1000),
        RefreshOutcome::Expired
    ));
    let r = rotated(refresh(s, &client, &short.refresh_token, T0 + 950));
    assert_eq!(r.access_expires_at, T0 + 1000);
    assert!(matches!(
        validate(s, &r.access_token, T0 + 1000),
        ValidateOutcome::Expired
    ));
    // Unrelated grant untouched.
    assert!(matches!(
        validate(s, &t1.access_token, T0 + 2),
        ValidateOutcome::Valid(_)
    ));
}

#[test]
fn validate_outcomes() {
    let fx = Fx::new();
    let s = &fx.store;
    let client = public_client(s, "dcr:c");
    let t = tokens(s, &client);
    assert!(matches!(
        validate(s, &t.access_token, T0 + 899),
        ValidateOutcome::Valid(_)
    ));
    assert!(matches!(
        validate(s, &t.access_token, T0 + 900),
        ValidateOutcome::Expired
    ));
    assert!(matches!(
        validate(s, &new_token(), T0),
        ValidateOutcome::Missing
    ));
    // The refresh token is not an access token.
    assert!(matches!(
        validate(s, &t.refresh_token, T0),
        ValidateOutcome::Missing
    ));
    revoke(s, &client, &t.access_token, None);
    assert!(matches!(
        validate(s, &t.access_token, T0 + 2),
        ValidateOutcome::Revoked
    ));
}

#[test]
fn revoke_outcomes() {
    let fx = Fx::new();
    let s = &fx.store;
    let client = public_client(s, "dcr:c");
    let other = public_client(s, "dcr:other");

    let t = tokens(s, &client);
    assert_eq!(
        revoke(s, &other, &t.access_token, None),
        RevokeOutcome::ClientMismatch
    );
    assert_eq!(
        revoke(s, &other, &t.refresh_token, None),
        RevokeOutcome::ClientMismatch
    );
    assert_eq!(
        revoke(s, "dcr:unknown", &t.access_token, None),
        RevokeOutcome::InvalidClient
    );
    assert_eq!(
        revoke(s, &client, &new_token(), None),
        RevokeOutcome::Missing
    );
    assert!(matches!(
        validate(s, &t.access_token, T0 + 2),
        ValidateOutcome::Valid(_)
    ));

    // An access token: only that token.
    assert_eq!(
        revoke(
            s,
            &client,
            &t.access_token,
            Some(TokenTypeHint::RefreshToken)
        ),
        RevokeOutcome::RevokedAccessToken
    );
    assert!(matches!(
        validate(s, &t.access_token, T0 + 2),
        ValidateOutcome::Revoked
    ));
    let t1 = rotated(refresh(s, &client, &t.refresh_token, T0 + 3));

    // A refresh token: the grant and all its access tokens (§3.12).
    assert_eq!(
        revoke(
            s,
            &client,
            &t1.refresh_token,
            Some(TokenTypeHint::RefreshToken)
        ),
        RevokeOutcome::RevokedGrant
    );
    assert!(matches!(
        validate(s, &t1.access_token, T0 + 4),
        ValidateOutcome::Revoked
    ));
    assert!(matches!(
        refresh(s, &client, &t1.refresh_token, T0 + 4),
        RefreshOutcome::Revoked
    ));

    // Without a hint a refresh token is still found.
    let u = tokens(s, &client);
    assert_eq!(
        revoke(s, &client, &u.refresh_token, None),
        RevokeOutcome::RevokedGrant
    );
    assert!(matches!(
        validate(s, &u.access_token, T0 + 2),
        ValidateOutcome::Revoked
    ));
}

#[test]
fn id_jag_is_not_supported_yet() {
    let fx = Fx::new();
    let err = fx
        .store
        .issue_access_token_for_id_jag(
            &IdJagTokenRequest {
                client: ClientAuth::public("dcr:c"),
                subject: "alice".into(),
                resource: RESOURCE.into(),
                operation_id: OP.into(),
                scope: "mcp:tools".into(),
                access_token_ttl_seconds: 900,
            },
            T0,
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Unsupported { .. }));
    assert!(err.to_string().contains("not supported yet"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Browser sessions
// ---------------------------------------------------------------------------------------------

#[test]
fn browser_sessions() {
    let fx = Fx::new();
    let s = &fx.store;
    let (session, token) = s
        .create_browser_session(&alice(), ttl::BROWSER_SESSION, T0)
        .unwrap();
    assert_eq!(session.expires_at, T0 + 28_800);
    assert_eq!(session.token_hash, hash_token(token.expose()));
    match s.read_browser_session(&token, T0 + 28_799).unwrap() {
        SessionOutcome::Valid(v) => assert_eq!(v.principal, alice()),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        s.read_browser_session(&token, T0 + 28_800).unwrap(),
        SessionOutcome::Expired
    ));
    assert!(matches!(
        s.read_browser_session(&new_token(), T0).unwrap(),
        SessionOutcome::Missing
    ));
    // Touch slides the expiry; an expired session cannot be revived.
    assert!(matches!(
        s.touch_browser_session(&token, ttl::BROWSER_SESSION, T0 + 1000)
            .unwrap(),
        SessionOutcome::Valid(_)
    ));
    assert!(matches!(
        s.read_browser_session(&token, T0 + 28_800).unwrap(),
        SessionOutcome::Valid(_)
    ));
    assert!(matches!(
        s.touch_browser_session(&token, 10, T0 + 1000 + 28_800)
            .unwrap(),
        SessionOutcome::Expired
    ));
    assert!(matches!(
        s.touch_browser_session(&new_token(), 10, T0).unwrap(),
        SessionOutcome::Missing
    ));
    assert!(s.end_browser_session(&token).unwrap());
    assert!(!s.end_browser_session(&token).unwrap());
    assert!(matches!(
        s.read_browser_session(&token, T0).unwrap(),
        SessionOutcome::Missing
    ));
}

// ---------------------------------------------------------------------------------------------
// Upstream connections, state, tickets
// ---------------------------------------------------------------------------------------------

fn write(key: &ConnectionKey, status: ConnectionStatus, blob: &[u8]) -> ConnectionWrite {
    ConnectionWrite {
        key: key.clone(),
        status,
        blob: EncryptedBlob(blob.to_vec()),
        scopes: vec!["read".into()],
        expires_at: Some(T0 + 3600),
        connected_by: None,
    }
}

#[test]
fn upstream_connections_with_optimistic_concurrency() {
    let fx = Fx::new();
    let s = &fx.store;
    let key = ConnectionKey::user("alice", "linear", "linear:user-oauth");
    assert!(s.get_upstream_connection(&key).unwrap().is_none());

    let ConditionalUpsertOutcome::Written(first) = s
        .conditional_upsert_upstream_connection(
            &write(&key, ConnectionStatus::Authenticating, b"v1"),
            WriteCondition::ExpectAbsent,
            T0,
        )
        .unwrap()
    else {
        panic!()
    };
    assert!(first.id.starts_with("mcpgw2uc_"));
    assert_eq!(first.updated_at, T0);
    assert_eq!(first.created_at, T0);
    assert_eq!(format!("{:?}", first.blob), "EncryptedBlob(2 bytes)");

    // A second "first connect" loses the race.
    match s
        .conditional_upsert_upstream_connection(
            &write(&key, ConnectionStatus::Active, b"other"),
            WriteCondition::ExpectAbsent,
            T0,
        )
        .unwrap()
    {
        ConditionalUpsertOutcome::Conflict { current } => assert_eq!(current, Some(first.clone())),
        other => panic!("{other:?}"),
    }

    // Two writers read the same version in the same second; only one wins.
    let ConditionalUpsertOutcome::Written(second) = s
        .conditional_upsert_upstream_connection(
            &write(&key, ConnectionStatus::Active, b"v2"),
            WriteCondition::ExpectUpdatedAt(first.updated_at),
            T0,
        )
        .unwrap()
    else {
        panic!()
    };
    assert!(second.updated_at > first.updated_at);
    assert_eq!(second.id, first.id);
    assert_eq!(second.created_at, T0);
    match s
        .conditional_upsert_upstream_connection(
            &write(&key, ConnectionStatus::ReconsentRequired, b"stale"),
            WriteCondition::ExpectUpdatedAt(first.updated_at),
            T0,
        )
        .unwrap()
    {
        ConditionalUpsertOutcome::Conflict { current } => {
            let current = current.unwrap();
            assert_eq!(current.blob, EncryptedBlob(b"v2".to_vec()));
            assert_eq!(current.status, ConnectionStatus::Active);
        }
        other => panic!("{other:?}"),
    }
    // Expecting a version of a connection that does not exist.
    let absent = ConnectionKey::user("bob", "linear", "linear:user-oauth");
    assert!(matches!(
        s.conditional_upsert_upstream_connection(
            &write(&absent, ConnectionStatus::Active, b"x"),
            WriteCondition::ExpectUpdatedAt(T0),
            T0
        )
        .unwrap(),
        ConditionalUpsertOutcome::Conflict { current: None }
    ));

    // Plain upsert; shared connections are keyed apart from user ones.
    let shared = ConnectionKey::shared("linear", "linear:shared-oauth");
    let mut w = write(&shared, ConnectionStatus::Active, b"s");
    w.connected_by = Some("admin".into());
    let sc = s.upsert_upstream_connection(&w, T0 + 5).unwrap();
    assert_eq!(sc.key.subject, "");
    assert_eq!(sc.connected_by.as_deref(), Some("admin"));
    let sc2 = s.upsert_upstream_connection(&w, T0 + 5).unwrap();
    assert_eq!(sc2.id, sc.id);
    assert_eq!(sc2.updated_at, T0 + 6);

    let got = s
        .get_upstream_connections(&[key.clone(), absent.clone(), shared.clone()])
        .unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].key, key);
    assert_eq!(got[1].key, shared);
    assert_eq!(got[1].scopes, vec!["read".to_string()]);

    assert!(s.delete_upstream_connection(&key).unwrap());
    assert!(!s.delete_upstream_connection(&key).unwrap());
    assert!(s.get_upstream_connection(&key).unwrap().is_none());
}

#[test]
fn upstream_oauth_state_is_single_use_and_expires() {
    let fx = Fx::new();
    let s = &fx.store;
    let state = NewUpstreamOAuthState {
        key: ConnectionKey::user("alice", "linear", "linear:user-oauth"),
        operation_id: OP.into(),
        return_to: Some("/oauth/setup?state=x".into()),
        return_origin: Some("http://localhost:9000".into()),
        blob: EncryptedBlob(b"sealed verifier".to_vec()),
        ttl_seconds: ttl::UPSTREAM_STATE,
    };
    let token = s.save_upstream_oauth_state(&state, T0).unwrap();
    match s.consume_upstream_oauth_state(&token, T0 + 899).unwrap() {
        ConsumeUpstreamStateOutcome::Consumed(st) => {
            assert_eq!(st.key, state.key);
            assert_eq!(st.blob, state.blob);
            assert_eq!(st.return_to, state.return_to);
            assert_eq!(st.expires_at, T0 + 900);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        s.consume_upstream_oauth_state(&token, T0 + 1).unwrap(),
        ConsumeUpstreamStateOutcome::AlreadyConsumed
    ));
    let late = s.save_upstream_oauth_state(&state, T0).unwrap();
    assert!(matches!(
        s.consume_upstream_oauth_state(&late, T0 + 900).unwrap(),
        ConsumeUpstreamStateOutcome::Expired
    ));
    assert!(matches!(
        s.consume_upstream_oauth_state(&new_token(), T0).unwrap(),
        ConsumeUpstreamStateOutcome::Missing
    ));
}

#[test]
fn connect_tickets_are_single_use_and_expire() {
    let fx = Fx::new();
    let s = &fx.store;
    let new = NewConnectTicket {
        owner_mode: OwnerMode::User,
        initiated_by: "alice".into(),
        owner_subject: Some("alice".into()),
        upstream_id: "linear".into(),
        auth_profile: "linear:user-oauth".into(),
        operation_id: OP.into(),
        return_to: None,
        ttl_seconds: ttl::UPSTREAM_STATE,
    };
    let (ticket, token) = s.issue_browser_connect_ticket(&new, T0).unwrap();
    assert_eq!(ticket.expires_at, T0 + 900);
    match s.consume_browser_connect_ticket(&token, T0 + 10).unwrap() {
        ConsumeTicketOutcome::Consumed(t) => assert_eq!(t, ticket),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        s.consume_browser_connect_ticket(&token, T0 + 11).unwrap(),
        ConsumeTicketOutcome::AlreadyConsumed
    ));
    let (_, late) = s.issue_browser_connect_ticket(&new, T0).unwrap();
    assert!(matches!(
        s.consume_browser_connect_ticket(&late, T0 + 900).unwrap(),
        ConsumeTicketOutcome::Expired
    ));
    assert!(matches!(
        s.consume_browser_connect_ticket(&new_token(), T0).unwrap(),
        ConsumeTicketOutcome::Missing
    ));
}

#[test]
fn purge_drops_long_expired_records_only() {
    let fx = Fx::new();
    let s = &fx.store;
    let client = public_client(s, "dcr:c");
    let t = tokens(s, &client);
    let (_, session) = s.create_browser_session(&alice(), 100, T0).unwrap();
    // Nothing is old enough yet.
    s.purge_expired(T0 + 1000).unwrap();
    assert!(matches!(
        s.read_browser_session(&session, T0 + 1000).unwrap(),
        SessionOutcome::Expired
    ));
    let removed = s.purge_expired(T0 + 200_000).unwrap();
    assert!(removed >= 3, "{removed}");
    assert!(matches!(
        s.read_browser_session(&session, T0).unwrap(),
        SessionOutcome::Missing
    ));
    assert!(matches!(
        validate(s, &t.access_token, T0),
        ValidateOutcome::Missing
    ));
    // The 10-year grant is still there.
    assert!(matches!(
        refresh(s, &client, &t.refresh_token, T0 + 200_000),
        RefreshOutcome::Rotated(_)
    ));
}

// ---------------------------------------------------------------------------------------------
// The file: restart, secrets at rest, migrations
// ---------------------------------------------------------------------------------------------

#[test]
fn state_survives_a_restart() {
    let fx = Fx::new();
    let client = public_client(&fx.store, "dcr:c");
    let t = tokens(&fx.store, &client);
    let (_, session) = fx
        .store
        .create_browser_session(&alice(), ttl::BROWSER_SESSION, T0)
        .unwrap();
    let key = ConnectionKey::user("alice", "linear", "linear:user-oauth");
    fx.store
        .upsert_upstream_connection(&write(&key, ConnectionStatus::Active, b"sealed"), T0)
        .unwrap();

    let fx = fx.reopen();
    let s = &fx.store;
    assert!(s.read_client(&client, T0 + 10).unwrap().is_some());
    assert!(matches!(
        s.read_browser_session(&session, T0 + 10).unwrap(),
        SessionOutcome::Valid(_)
    ));
    assert!(matches!(
        validate(s, &t.access_token, T0 + 10),
        ValidateOutcome::Valid(_)
    ));
    rotated(refresh(s, &client, &t.refresh_token, T0 + 10));
    assert_eq!(
        s.get_upstream_connection(&key).unwrap().unwrap().blob,
        EncryptedBlob(b"sealed".to_vec())
    );
}

fn file_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

fn assert_absent(haystacks: &[(&str, Vec<u8>)], secrets: &[Secret]) {
    for (name, bytes) in haystacks {
        for secret in secrets {
            let needle = secret.expose().as_bytes();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "a raw token is in {name}"
            );
        }
    }
}

#[test]
fn no_raw_token_or_secret_reaches_the_database_file() {
    let fx = Fx::new();
    let s = &fx.store;
    let mut issued: Vec<Secret> = Vec::new();

    let RegisterClientOutcome::Registered { secret, .. } = s
        .register_client(
            &new_client("dcr:conf", ClientAuthMethod::ClientSecretBasic),
            T0,
        )
        .unwrap()
    else {
        panic!()
    };
    let client_secret = secret.unwrap();
    issued.push(client_secret.clone());
    let auth = ClientAuth {
        client_id: "dcr:conf".into(),
        proof: ClientProof::Secret(client_secret),
    };

    let login = start(s, "tx", "dcr:conf", InitialPhase::AwaitingLogin);
    issued.push(login.clone());
    let AdvancePendingOutcome::Advanced {
        state_token: setup, ..
    } = s
        .advance_pending_authorization("tx", &login, &alice(), T0)
        .unwrap()
    else {
        panic!()
    };
    issued.push(setup.clone());
    let DecideSetupOutcome::Approved { code, .. } =
        decide(s, "tx", &setup, "alice", SetupDecision::Approve, T0)
    else {
        panic!()
    };
    issued.push(code.clone());
    let ExchangeCodeOutcome::Exchanged(t) = s
        .exchange_authorization_code(&exchange_req(auth.clone(), &code), T0)
        .unwrap()
    else {
        panic!()
    };
    issued.push(t.access_token.clone());
    issued.push(t.refresh_token.clone());
    let RefreshOutcome::Rotated(t1) = s
        .refresh_token(
            &RefreshRequest {
                client: auth,
                refresh_token: t.refresh_token.clone(),
                resource: None,
                access_token_ttl_seconds: 900,
                grace_seconds: 30,
            },
            T0 + 1,
        )
        .unwrap()
    else {
        panic!()
    };
    issued.push(t1.access_token.clone());
    issued.push(t1.refresh_token.clone());
    let (_, session) = s.create_browser_session(&alice(), 100, T0).unwrap();
    issued.push(session);
    let (_, ticket) = s
        .issue_browser_connect_ticket(
            &NewConnectTicket {
                owner_mode: OwnerMode::Shared,
                initiated_by: "admin".into(),
                owner_subject: None,
                upstream_id: "linear".into(),
                auth_profile: "linear:shared-oauth".into(),
                operation_id: OP.into(),
                return_to: None,
                ttl_seconds: 900,
            },
            T0,
        )
        .unwrap();
    issued.push(ticket);
    issued.push(
        s.save_upstream_oauth_state(
            &NewUpstreamOAuthState {
                key: ConnectionKey::shared("linear", "linear:shared-oauth"),
                operation_id: OP.into(),
                return_to: None,
                return_origin: None,
                blob: EncryptedBlob(vec![1, 2, 3]),
                ttl_seconds: 900,
            },
            T0,
        )
        .unwrap(),
    );
    assert_eq!(issued.len(), 11);

    let db = fx.db();
    let wal = db.with_extension("db-wal");
    // While open: the data sits in the WAL.
    let open_files = [
        ("state.db", file_bytes(&db)),
        ("state.db-wal", file_bytes(&wal)),
    ];
    assert!(!open_files[1].1.is_empty(), "expected a WAL file");
    assert_absent(&open_files, &issued);
    // The hashes are there (the check above is not vacuous).
    let needle = hash_token(t1.refresh_token.expose());
    assert!(
        open_files
            .iter()
            .any(|(_, b)| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
    );

    // After closing (checkpoint into the main file).
    let fx = fx.reopen();
    drop(fx.store);
    let closed = [
        ("state.db", file_bytes(&db)),
        ("state.db-wal", file_bytes(&wal)),
    ];
    assert_absent(&closed, &issued);
}

#[test]
fn migrations_on_an_empty_file_and_refusal_of_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    std::fs::write(&path, b"").unwrap();
    let store = SqliteStore::open(&path).unwrap();
    drop(store);

    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let tables: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN \
             ('clients', 'grants', 'access_tokens', 'upstream_connections')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 4);
    drop(conn);

    // Opening again applies nothing twice.
    SqliteStore::open(&path).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let rows: i64 = conn
        .query_row("SELECT COUNT(*) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, SCHEMA_VERSION);

    // A newer mcpgw wrote this file.
    conn.execute(
        "INSERT INTO schema_version (version, applied_at) VALUES (?1, 0)",
        [SCHEMA_VERSION + 7],
    )
    .unwrap();
    drop(conn);
    let err = SqliteStore::open(&path).unwrap_err();
    match &err {
        StoreError::NewerSchema {
            found, supported, ..
        } => {
            assert_eq!(*found, SCHEMA_VERSION + 7);
            assert_eq!(*supported, SCHEMA_VERSION);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("newer"), "{err}");
}

#[test]
fn a_file_that_is_not_a_database_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    std::fs::write(&path, vec![0x42u8; 8192]).unwrap();
    assert!(SqliteStore::open(&path).is_err());
    assert!(SqliteStore::open(&dir.path().join("missing/state.db")).is_err());
}

#[cfg(unix)]
#[test]
fn database_file_is_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let fx = Fx::new();
    let mode = std::fs::metadata(fx.db()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn two_handles_on_one_file_see_each_other() {
    let fx = Fx::new();
    let second = SqliteStore::open(&fx.db()).unwrap();
    let client = public_client(&fx.store, "dcr:c");
    let t = tokens(&fx.store, &client);
    assert!(matches!(
        validate(&second, &t.access_token, T0),
        ValidateOutcome::Valid(_)
    ));
    // Concurrent writers on both handles: every write lands.
    std::thread::scope(|scope| {
        for s in [&fx.store as &dyn Store, &second as &dyn Store] {
            scope.spawn(move || {
                for _ in 0..20 {
                    s.create_browser_session(&alice(), 100, T0).unwrap();
                }
            });
        }
    });
    let conn = rusqlite::Connection::open(fx.db()).unwrap();
    let n: i64 = conn
        .query_row("SELECT COUNT(*) FROM browser_sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 40);
}

// ---------------------------------------------------------------------------------------------
// Gateway secret and state folder
// ---------------------------------------------------------------------------------------------

#[test]
fn state_dir_is_created_private() {
    let project = tempfile::tempdir().unwrap();
    let dir = keyfile::default_state_dir(project.path());
    assert!(dir.ends_with(".mcpgw"));
    keyfile::ensure_state_dir(&dir).unwrap();
    keyfile::ensure_state_dir(&dir).unwrap();
    assert!(dir.is_dir());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
    let store = SqliteStore::open(&keyfile::db_path(&dir)).unwrap();
    assert!(store.path().ends_with(".mcpgw/state.db"));
}

#[test]
fn key_file_is_created_once_and_reused() {
    let project = tempfile::tempdir().unwrap();
    let dir = keyfile::default_state_dir(project.path());
    keyfile::ensure_state_dir(&dir).unwrap();
    let (key, source) = keyfile::load_gateway_secret_with(&dir, None).unwrap();
    let path = keyfile::key_path(&dir);
    assert_eq!(source, KeySource::Created(path.clone()));
    assert_eq!(std::fs::read(&path).unwrap(), key.expose().to_vec());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(format!("{key:?}"), "GatewaySecret([redacted])");
    // No temporary files left behind.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("secret.key")]);

    let (again, source) = keyfile::load_gateway_secret_with(&dir, Some("")).unwrap();
    assert_eq!(source, KeySource::File(path.clone()));
    assert_eq!(again, key);

    // Many starters at once agree on one key.
    let other = tempfile::tempdir().unwrap();
    let keys: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    keyfile::load_gateway_secret_with(other.path(), None)
                        .unwrap()
                        .0
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(keys.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn env_key_overrides_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let hex = "0f".repeat(32);
    let (key, source) = keyfile::load_gateway_secret_with(dir.path(), Some(&hex)).unwrap();
    assert_eq!(source, KeySource::Env);
    assert_eq!(key.expose(), &[0x0f; 32]);
    // The override does not create a file.
    assert!(!keyfile::key_path(dir.path()).exists());
    let b64 = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
    let (key, _) = keyfile::load_gateway_secret_with(dir.path(), Some(b64)).unwrap();
    assert_eq!(key.expose()[0], 1);
    assert_eq!(key.expose()[31], 32);
    // Even when a file exists, the env wins.
    keyfile::load_gateway_secret_with(dir.path(), None).unwrap();
    let (key, source) = keyfile::load_gateway_secret_with(dir.path(), Some(&hex)).unwrap();
    assert_eq!((key.expose(), source), (&[0x0f; 32], KeySource::Env));

    let err = keyfile::load_gateway_secret_with(dir.path(), Some("too-short")).unwrap_err();
    assert!(matches!(err, StoreError::InvalidSecretKey { .. }));
    assert!(err.to_string().contains("MCPGW_SECRET_KEY"), "{err}");
    assert!(
        !err.to_string().contains("too-short"),
        "the value must not be echoed: {err}"
    );
}

#[test]
fn key_file_of_wrong_length_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    for bad in [vec![1u8; 31], vec![1u8; 33], vec![], vec![7u8; 4096]] {
        std::fs::write(keyfile::key_path(dir.path()), &bad).unwrap();
        private(&keyfile::key_path(dir.path()));
        let err = keyfile::load_gateway_secret_with(dir.path(), None).unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidSecretKey { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("32"), "{err}");
        // Never replaced silently.
        assert_eq!(std::fs::read(keyfile::key_path(dir.path())).unwrap(), bad);
    }
}

/// Mode 0600, as mcpgw creates its key file.
fn private(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

/// Issue #13: a key file other users can read is refused, with the chmod to run.
#[cfg(unix)]
#[test]
fn a_key_file_readable_by_others_is_refused_with_the_fix() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    keyfile::load_gateway_secret_with(dir.path(), None).unwrap();
    let path = keyfile::key_path(dir.path());
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600,
        "created 0600"
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = keyfile::load_gateway_secret_with(dir.path(), None).unwrap_err();
    assert!(
        matches!(err, StoreError::KeyFileTooOpen { mode: 0o644, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("chmod 600"), "{err}");
}

/// Issue #13: a deleted secret.key next to upstream connections sealed with it refuses to
/// start (they would be lost without a word); `--reset-secret-key` starts over on purpose.
#[tokio::test]
async fn a_missing_key_with_sealed_connections_refuses_to_start_unless_reset() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join(".mcpgw");
    let opened = mcpgw::gateway::open_state(state.clone(), false)
        .await
        .unwrap();
    assert!(opened.db_created, "a new state.db is noted");
    let key = ConnectionKey::user("alice", "linear", "linear:user-oauth");
    opened
        .store
        .run(move |s| {
            s.upsert_upstream_connection(&write(&key, ConnectionStatus::Active, b"sealed"), T0)
        })
        .await
        .unwrap();
    drop(opened);
    std::fs::remove_file(keyfile::key_path(&state)).unwrap();

    let err = match mcpgw::gateway::open_state(state.clone(), false).await {
        Err(e) => e,
        Ok(_) => panic!("started with a new key over sealed connections"),
    };
    assert!(
        matches!(
            err,
            StoreError::KeyLostWithSealedConnections { connections: 1, .. }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("--reset-secret-key"), "{err}");
    assert!(
        !keyfile::key_path(&state).exists(),
        "no new key is made while refusing"
    );

    let reset = mcpgw::gateway::open_state(state.clone(), true)
        .await
        .unwrap();
    assert_eq!(reset.dropped_connections, 1);
    assert!(!reset.db_created);
    let key = ConnectionKey::user("alice", "linear", "linear:user-oauth");
    let left = reset
        .store
        .run(move |s| s.get_upstream_connection(&key))
        .await
        .unwrap();
    assert!(left.is_none(), "the unreadable connections are gone");
}

/// Issue #13: a damaged state.db is reported at start with its path, not as later 500s.
#[test]
fn a_damaged_state_db_is_refused_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    std::fs::write(&path, vec![0x5a; 8192]).unwrap();
    let err = match SqliteStore::open(&path) {
        Err(e) => e,
        Ok(_) => panic!("opened a file that is not a database"),
    };
    assert!(matches!(err, StoreError::DatabaseDamaged { .. }), "{err:?}");
    assert!(err.to_string().contains("state.db"), "{err}");

    // a real database with one damaged page
    let path = dir.path().join("damaged.db");
    {
        let s = SqliteStore::open(&path).unwrap();
        let client = public_client(&s, "dcr:c");
        for _ in 0..50 {
            tokens(&s, &client);
        }
    }
    // closing the last connection folded the WAL into the file; scribble over a page in it
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 4 * 4096, "the database has several pages");
    let page = 4096 * 3;
    bytes[page..page + 4096].fill(0x33);
    std::fs::write(&path, bytes).unwrap();
    let err = match SqliteStore::open(&path) {
        Err(e) => e,
        Ok(_) => panic!("opened a database with a damaged page"),
    };
    assert!(matches!(err, StoreError::DatabaseDamaged { .. }), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// Async access
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn async_store_runs_the_flow() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("state.db")).unwrap();
    let s = AsyncStore::new(Arc::new(store));
    let s2 = s.clone();

    let RegisterClientOutcome::Registered { client, .. } = s
        .run(|st| st.register_client(&new_client("dcr:a", ClientAuthMethod::None), T0))
        .await
        .unwrap()
    else {
        panic!()
    };
    let StartAuthorizationOutcome::Started { state_token, .. } = s
        .run(move |st| {
            st.start_authorization(
                &start_req("tx", &client.id, InitialPhase::AwaitingLogin),
                T0,
            )
        })
        .await
        .unwrap()
    else {
        panic!()
    };
    let AdvancePendingOutcome::Advanced {
        state_token: setup, ..
    } = s2
        .run(move |st| st.advance_pending_authorization("tx", &state_token, &alice(), T0))
        .await
        .unwrap()
    else {
        panic!()
    };
    let DecideSetupOutcome::Approved { code, .. } = s
        .run(move |st| {
            st.decide_authorization_setup(
                &DecideSetup {
                    id: "tx".into(),
                    state_token: setup,
                    subject: "alice".into(),
                    decision: SetupDecision::Approve,
                    code_ttl_seconds: 60,
                },
                T0,
            )
        })
        .await
        .unwrap()
    else {
        panic!()
    };
    let ExchangeCodeOutcome::Exchanged(t) = s
        .run(move |st| {
            st.exchange_authorization_code(&exchange_req(ClientAuth::public("dcr:a"), &code), T0)
        })
        .await
        .unwrap()
    else {
        panic!()
    };
    // Many concurrent validations from tasks.
    let mut tasks = Vec::new();
    for i in 0..16 {
        let s = s.clone();
        let token = t.access_token.clone();
        tasks.push(tokio::spawn(async move {
            s.run(move |st| st.validate_access_token(&token, T0 + i))
                .await
        }));
    }
    for task in tasks {
        assert!(matches!(
            task.await.unwrap().unwrap(),
            ValidateOutcome::Valid(_)
        ));
    }
    let n = s
        .run(|store| Ok(store.read_client("dcr:a", T0)?.is_some()))
        .await
        .unwrap();
    assert!(n);
    assert!(matches!(
        s.run(|st| st.issue_access_token_for_id_jag(
            &IdJagTokenRequest {
                client: ClientAuth::public("dcr:a"),
                subject: "alice".into(),
                resource: RESOURCE.into(),
                operation_id: OP.into(),
                scope: "mcp:tools".into(),
                access_token_ttl_seconds: 900,
            },
            T0
        ))
        .await,
        Err(StoreError::Unsupported { .. })
    ));
}

#[test]
fn store_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<SqliteStore>();
    check::<AsyncStore>();
}
