//! API-key consumers (`api_consumers`) and their keys (`api_keys`), SPEC §16.1, D25 e. A key
//! is found by its `sha256:` hash; the key itself is never written.

use super::rows::{exec, query_opt};
use crate::crypto::hash_token;
use crate::secret::Secret;
use crate::store::records::api_keys::has_api_key_shape;
use crate::store::{
    ApiKeyOutcome, ApiKeyRecord, Consumer, ConsumerKeys, CreatedApiKey, NewApiKey,
    RevokeApiKeyOutcome, StoreError,
};
use rusqlite::{Connection, Row, params};
use serde_json::{Map, Value};

const KEY_COLS: &str = "id, consumer, created_at, expires_at, revoked_at";

fn metadata_from(text: &str) -> Result<Map<String, Value>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::CorruptRow {
        table: "api_consumers",
        detail: format!("metadata: {e}"),
    })
}

fn consumer_from_row(r: &Row<'_>) -> Result<Consumer, StoreError> {
    Ok(Consumer {
        name: r.get(0)?,
        metadata: metadata_from(&r.get::<_, String>(1)?)?,
        created_at: r.get(2)?,
    })
}

fn key_from_row(r: &Row<'_>) -> Result<ApiKeyRecord, StoreError> {
    Ok(ApiKeyRecord {
        id: r.get(0)?,
        consumer: r.get(1)?,
        created_at: r.get(2)?,
        expires_at: r.get(3)?,
        revoked_at: r.get(4)?,
    })
}

fn load_consumer(c: &Connection, name: &str) -> Result<Option<Consumer>, StoreError> {
    query_opt(
        c,
        "SELECT name, metadata, created_at FROM api_consumers WHERE name = ?1",
        [name],
        consumer_from_row,
    )
}

fn load_key(c: &Connection, id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
    query_opt(
        c,
        &format!("SELECT {KEY_COLS} FROM api_keys WHERE id = ?1"),
        [id],
        key_from_row,
    )
}

/// Creates the consumer when new (or replaces its metadata when given) and stores the key's
/// hash under `id`, all in the caller's transaction: a failed key insert leaves no consumer.
pub(super) fn create_api_key(
    c: &Connection,
    req: &NewApiKey,
    key: Secret,
    id: String,
    now: i64,
) -> Result<CreatedApiKey, StoreError> {
    let json = |m: &Map<String, Value>| serde_json::to_string(m).unwrap_or_else(|_| "{}".into());
    let (consumer, consumer_created, metadata_replaced) =
        match (load_consumer(c, &req.consumer)?, &req.metadata) {
            (None, metadata) => {
                let consumer = Consumer {
                    name: req.consumer.clone(),
                    metadata: metadata.clone().unwrap_or_default(),
                    created_at: now,
                };
                exec(
                    c,
                    "INSERT INTO api_consumers (name, metadata, created_at) VALUES (?1, ?2, ?3)",
                    params![consumer.name, json(&consumer.metadata), now],
                )?;
                (consumer, true, false)
            }
            (Some(mut existing), Some(metadata)) => {
                exec(
                    c,
                    "UPDATE api_consumers SET metadata = ?2 WHERE name = ?1",
                    params![existing.name, json(metadata)],
                )?;
                existing.metadata = metadata.clone();
                (existing, false, true)
            }
            (Some(existing), None) => (existing, false, false),
        };
    let record = ApiKeyRecord {
        id,
        consumer: consumer.name.clone(),
        created_at: now,
        expires_at: req.expires_at,
        revoked_at: None,
    };
    exec(
        c,
        "INSERT INTO api_keys (id, consumer, hash, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            record.id,
            record.consumer,
            hash_token(key.expose()),
            record.created_at,
            record.expires_at
        ],
    )?;
    Ok(CreatedApiKey {
        key,
        record,
        consumer,
        consumer_created,
        metadata_replaced,
    })
}

/// Every consumer (by name) with its keys (oldest first).
pub(super) fn list_consumers(c: &Connection) -> Result<Vec<ConsumerKeys>, StoreError> {
    let mut stmt =
        c.prepare_cached("SELECT name, metadata, created_at FROM api_consumers ORDER BY name")?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(ConsumerKeys {
            consumer: consumer_from_row(row)?,
            keys: Vec::new(),
        });
    }
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {KEY_COLS} FROM api_keys ORDER BY created_at, id"
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let key = key_from_row(row)?;
        if let Some(owner) = out.iter_mut().find(|ck| ck.consumer.name == key.consumer) {
            owner.keys.push(key);
        }
    }
    Ok(out)
}

pub(super) fn revoke_api_key(
    c: &Connection,
    id: &str,
    now: i64,
) -> Result<RevokeApiKeyOutcome, StoreError> {
    Ok(match load_key(c, id)? {
        None => RevokeApiKeyOutcome::Missing,
        Some(k) if k.revoked_at.is_some() => RevokeApiKeyOutcome::AlreadyRevoked(k),
        Some(mut k) => {
            exec(
                c,
                "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1",
                params![id, now],
            )?;
            k.revoked_at = Some(now);
            RevokeApiKeyOutcome::Revoked(k)
        }
    })
}

pub(super) fn validate_api_key(
    c: &Connection,
    key: &Secret,
    now: i64,
) -> Result<ApiKeyOutcome, StoreError> {
    if !has_api_key_shape(key.expose()) {
        return Ok(ApiKeyOutcome::Missing);
    }
    let found = query_opt(
        c,
        &format!("SELECT {KEY_COLS} FROM api_keys WHERE hash = ?1"),
        [hash_token(key.expose())],
        key_from_row,
    )?;
    let Some(record) = found else {
        return Ok(ApiKeyOutcome::Missing);
    };
    if record.revoked_at.is_some() {
        return Ok(ApiKeyOutcome::Revoked);
    }
    if record.expired(now) {
        return Ok(ApiKeyOutcome::Expired);
    }
    Ok(match load_consumer(c, &record.consumer)? {
        Some(consumer) => ApiKeyOutcome::Valid {
            consumer,
            key_id: record.id,
        },
        // the foreign key deletes keys with their consumer; a missing one is no key
        None => ApiKeyOutcome::Missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::records::api_keys::new_api_key;
    use crate::store::{SqliteStore, Store};

    fn open() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("state.db")).unwrap();
        (dir, store)
    }

    fn new_key(consumer: &str, metadata: Option<Value>, expires_at: Option<i64>) -> NewApiKey {
        NewApiKey {
            consumer: consumer.to_string(),
            metadata: metadata.and_then(|m| m.as_object().cloned()),
            expires_at,
        }
    }

    #[test]
    fn create_check_list_revoke() {
        let (_d, s) = open();
        let a = s
            .create_api_key(
                &new_key("alice", Some(serde_json::json!({"roles": ["admin"]})), None),
                100,
            )
            .unwrap();
        assert!(a.consumer_created && !a.metadata_replaced);
        let b = s
            .create_api_key(&new_key("alice", None, Some(500)), 110)
            .unwrap();
        assert!(!b.consumer_created && !b.metadata_replaced);
        assert_eq!(
            b.consumer.metadata["roles"],
            serde_json::json!(["admin"]),
            "a further key keeps the metadata"
        );
        assert_ne!(a.record.id, b.record.id);

        match s.validate_api_key(&a.key, 120).unwrap() {
            ApiKeyOutcome::Valid { consumer, key_id } => {
                assert_eq!(consumer.name, "alice");
                assert_eq!(key_id, a.record.id);
                assert_eq!(consumer.metadata["roles"], serde_json::json!(["admin"]));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            s.validate_api_key(&b.key, 499).unwrap(),
            ApiKeyOutcome::Valid { .. }
        ));
        assert_eq!(
            s.validate_api_key(&b.key, 500).unwrap(),
            ApiKeyOutcome::Expired
        );
        assert_eq!(
            s.validate_api_key(&new_api_key(), 120).unwrap(),
            ApiKeyOutcome::Missing
        );
        assert_eq!(
            s.validate_api_key(&Secret::new("not a key"), 120).unwrap(),
            ApiKeyOutcome::Missing
        );

        let list = s.list_consumers().unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(
            list[0]
                .keys
                .iter()
                .map(|k| k.id.as_str())
                .collect::<Vec<_>>(),
            [a.record.id.as_str(), b.record.id.as_str()]
        );

        match s.revoke_api_key(&a.record.id, 130).unwrap() {
            RevokeApiKeyOutcome::Revoked(k) => assert_eq!(k.revoked_at, Some(130)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            s.revoke_api_key(&a.record.id, 140).unwrap(),
            RevokeApiKeyOutcome::AlreadyRevoked(k) if k.revoked_at == Some(130)
        ));
        assert_eq!(
            s.revoke_api_key("key_nope", 140).unwrap(),
            RevokeApiKeyOutcome::Missing
        );
        assert_eq!(
            s.validate_api_key(&a.key, 150).unwrap(),
            ApiKeyOutcome::Revoked
        );

        // new metadata on an existing consumer replaces it
        let c = s
            .create_api_key(
                &new_key("alice", Some(serde_json::json!({"plan": "pro"})), None),
                160,
            )
            .unwrap();
        assert!(c.metadata_replaced);
        match s.validate_api_key(&c.key, 170).unwrap() {
            ApiKeyOutcome::Valid { consumer, .. } => {
                assert_eq!(
                    Value::Object(consumer.metadata),
                    serde_json::json!({"plan": "pro"})
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn only_the_hash_is_stored() {
        let (d, s) = open();
        let a = s.create_api_key(&new_key("bob", None, None), 1).unwrap();
        let stored: String = s
            .tx(|c| Ok(c.query_row("SELECT hash FROM api_keys", [], |r| r.get::<_, String>(0))?))
            .unwrap();
        assert_eq!(stored, hash_token(a.key.expose()));
        drop(s);
        for entry in std::fs::read_dir(d.path()).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            let key = a.key.expose().as_bytes();
            assert!(!bytes.windows(key.len()).any(|w| w == key));
        }
    }

    #[test]
    fn a_failed_key_insert_creates_no_consumer() {
        let (_d, s) = open();
        s.tx(|c| {
            create_api_key(
                c,
                &new_key("first", None, None),
                new_api_key(),
                "key_x".into(),
                1,
            )
        })
        .unwrap();
        // the same id again: the key insert fails after the consumer insert
        let err = s.tx(|c| {
            create_api_key(
                c,
                &new_key("second", None, None),
                new_api_key(),
                "key_x".into(),
                2,
            )
        });
        assert!(err.is_err());
        let names: Vec<String> = s
            .list_consumers()
            .unwrap()
            .into_iter()
            .map(|ck| ck.consumer.name)
            .collect();
        assert_eq!(names, ["first"], "the transaction rolled the consumer back");
    }
}
