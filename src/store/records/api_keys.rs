//! Local API-key consumers and their keys (SPEC §16.1, D21, D25 e): what `mcpgw keys` manages
//! and `api-key-inbound` checks.
//!
//! Owns: the key format (`zpka_<random>_<checksum>`, as Zuplo's keys look, long enough for the
//! `secret-masking-outbound` pattern `zpka_[A-Za-z0-9_]{42,}`), key ids, the consumer-name rule,
//! and the records and outcomes of the consumer operations. A key is handed out once; the store
//! keeps only its [`hash_token`](crate::crypto::hash_token) value.

use crate::secret::Secret;
use serde_json::{Map, Value};
use sha2::Digest;

/// Every key starts with this, as Zuplo's do.
pub const KEY_PREFIX: &str = "zpka_";

/// Random bytes in a key (64 hex characters).
const KEY_RANDOM_BYTES: usize = 32;
/// Hex characters of the checksum after the last `_`.
const CHECKSUM_LEN: usize = 8;

/// Longest consumer name `mcpgw keys create` accepts.
pub const MAX_CONSUMER_NAME: usize = 128;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The checksum of a key's `zpka_<random>` part: the first 4 bytes of its SHA-256, in hex. It
/// lets a secret scanner (or a typo check) tell a key from look-alike text without a lookup.
fn checksum(body: &str) -> String {
    let digest = sha2::Sha256::digest(body.as_bytes());
    hex(&digest[..CHECKSUM_LEN / 2])
}

/// A fresh key: `zpka_` + 64 hex characters of randomness + `_` + an 8-character checksum.
pub fn new_api_key() -> Secret {
    let mut bytes = [0u8; KEY_RANDOM_BYTES];
    rand::fill(&mut bytes[..]);
    let body = format!("{KEY_PREFIX}{}", hex(&bytes));
    let sum = checksum(&body);
    Secret::new(format!("{body}_{sum}"))
}

/// Whether `key` has the shape of a key mcpgw issues, checksum included. Anything else is
/// unknown without a lookup.
pub fn has_api_key_shape(key: &str) -> bool {
    let Some((body, sum)) = key.rsplit_once('_') else {
        return false;
    };
    let Some(random) = body.strip_prefix(KEY_PREFIX) else {
        return false;
    };
    random.len() == KEY_RANDOM_BYTES * 2
        && random.bytes().all(|b| b.is_ascii_hexdigit())
        && crate::crypto::constant_time_eq(sum.as_bytes(), checksum(body).as_bytes())
}

/// A new key id: `key_` + 16 hex characters. Printable, short, and not a secret.
pub fn new_key_id() -> String {
    let mut bytes = [0u8; 8];
    rand::fill(&mut bytes[..]);
    format!("key_{}", hex(&bytes))
}

/// Why `name` cannot be a consumer name, or `None`. The name becomes `request.user.sub`, log
/// lines and rate-limit keys, so it is kept to printable, unambiguous characters.
pub fn consumer_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("the consumer name is empty".to_string());
    }
    if name.len() > MAX_CONSUMER_NAME {
        return Some(format!(
            "the consumer name is longer than {MAX_CONSUMER_NAME} characters"
        ));
    }
    name.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@')))
        .map(|c| format!("the consumer name may hold letters, digits and - _ . @ only, not {c:?}"))
}

/// What `mcpgw keys create` asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct NewApiKey {
    /// The consumer's name (`request.user.sub`); created when new.
    pub consumer: String,
    /// The consumer's metadata (`request.user.data`): set on a new consumer, replaced on an
    /// existing one when given.
    pub metadata: Option<Map<String, Value>>,
    /// Unix seconds after which the key is refused.
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Consumer {
    pub name: String,
    pub metadata: Map<String, Value>,
    pub created_at: i64,
}

/// A key as stored: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: String,
    pub consumer: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl ApiKeyRecord {
    /// A record is expired when `now >= expires_at`, as every record of the store.
    pub fn expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|e| now >= e)
    }
}

/// The answer of a create: the key, shown once.
#[derive(Debug)]
pub struct CreatedApiKey {
    pub key: Secret,
    pub record: ApiKeyRecord,
    pub consumer: Consumer,
    /// The consumer did not exist before.
    pub consumer_created: bool,
    /// An existing consumer's metadata was replaced.
    pub metadata_replaced: bool,
}

/// A consumer with its keys, for `mcpgw keys list`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerKeys {
    pub consumer: Consumer,
    pub keys: Vec<ApiKeyRecord>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RevokeApiKeyOutcome {
    Revoked(ApiKeyRecord),
    /// Revoked before; the record says when.
    AlreadyRevoked(ApiKeyRecord),
    Missing,
}

/// The check of a presented key (§16.1).
#[derive(Debug, Clone, PartialEq)]
pub enum ApiKeyOutcome {
    Valid {
        consumer: Consumer,
        key_id: String,
    },
    Revoked,
    Expired,
    /// No such key (or not a key's shape at all).
    Missing,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_zuplos_shape_and_match_the_masking_pattern() {
        let k = new_api_key();
        let s = k.expose();
        assert!(s.starts_with("zpka_"));
        assert_eq!(s.len(), 5 + 64 + 1 + 8);
        // secret-masking-outbound's built-in pattern zpka_[A-Za-z0-9_]{42,}
        let tail = &s[5..];
        assert!(tail.len() >= 42);
        assert!(tail.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        assert!(has_api_key_shape(s));
        assert_ne!(s, new_api_key().expose());
    }

    #[test]
    fn the_checksum_catches_a_changed_character() {
        let k = new_api_key();
        let s = k.expose();
        let mut changed = s.as_bytes().to_vec();
        // flip one character of the random part to another hex digit
        changed[10] = if changed[10] == b'a' { b'b' } else { b'a' };
        let changed = String::from_utf8(changed).unwrap();
        assert!(!has_api_key_shape(&changed));
        assert!(!has_api_key_shape(&s.to_uppercase()));
        assert!(!has_api_key_shape(&s[..s.len() - 1]));
        assert!(!has_api_key_shape(&s.replacen("zpka_", "zpkb_", 1)));
        for junk in ["", "zpka_", "zpka__", "_", "zpka_x_y", "bearer zpka_1_2"] {
            assert!(!has_api_key_shape(junk), "{junk:?}");
        }
    }

    #[test]
    fn key_ids_are_short_and_printable() {
        let id = new_key_id();
        assert!(id.starts_with("key_") && id.len() == 20, "{id}");
        assert!(id[4..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(id, new_key_id());
    }

    #[test]
    fn consumer_names() {
        for ok in ["alice", "team-a", "svc_1", "bob@example.com", "a.b"] {
            assert_eq!(consumer_name_problem(ok), None, "{ok}");
        }
        assert!(consumer_name_problem("").is_some());
        assert!(consumer_name_problem("has space").is_some());
        assert!(consumer_name_problem("new\nline").is_some());
        assert!(consumer_name_problem(&"x".repeat(129)).is_some());
        assert!(consumer_name_problem(&"x".repeat(128)).is_none());
    }

    #[test]
    fn expiry_is_at_or_after_the_instant() {
        let r = ApiKeyRecord {
            id: "key_1".into(),
            consumer: "c".into(),
            created_at: 0,
            expires_at: Some(100),
            revoked_at: None,
        };
        assert!(!r.expired(99));
        assert!(r.expired(100));
        assert!(
            !ApiKeyRecord {
                expires_at: None,
                ..r
            }
            .expired(i64::MAX)
        );
    }
}
