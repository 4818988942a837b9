//! Bodies the gateway keeps while user code runs, until it reads them (`bodyPending`).
//!
//! Owns: [`PendingBody`], one body that stays unread in the gateway unless the worker asks for
//! it (`invoke` op `readBody`), then read once (bounded by the reader the gateway gives) and
//! kept; and [`CallBodies`], the pending bodies of one call. After the call the gateway takes
//! the body back as it is ([`BodyOutcome`]): still a stream, the bytes, or why it could not be
//! read.

use axum::body::{Body, Bytes};
use futures_util::future::BoxFuture;

/// Reads a body whole, within the gateway's limits; `Err` says why not.
pub type ReadBody = Box<dyn FnOnce(Body) -> BoxFuture<'static, Result<Bytes, String>> + Send>;

/// One body that waits in the gateway until user code reads it.
pub struct PendingBody {
    slot: tokio::sync::Mutex<Slot>,
}

enum Slot {
    Unread(Body, ReadBody),
    Read(Bytes),
    Failed(String),
}

/// What became of a [`PendingBody`].
pub enum BodyOutcome {
    /// Nobody read it: the stream, untouched.
    Unread(Body),
    /// Read whole.
    Read(Bytes),
    /// A read failed (too large, broken off): why.
    Failed(String),
}

impl PendingBody {
    pub fn new(body: Body, read: ReadBody) -> Self {
        PendingBody {
            slot: tokio::sync::Mutex::new(Slot::Unread(body, read)),
        }
    }

    /// The bytes, read on the first call and kept.
    pub async fn read(&self) -> Result<Bytes, String> {
        let mut slot = self.slot.lock().await;
        let taken = std::mem::replace(&mut *slot, Slot::Failed(String::new()));
        let (next, out) = match taken {
            Slot::Unread(body, read) => match read(body).await {
                Ok(b) => (Slot::Read(b.clone()), Ok(b)),
                Err(e) => (Slot::Failed(e.clone()), Err(e)),
            },
            Slot::Read(b) => (Slot::Read(b.clone()), Ok(b)),
            Slot::Failed(e) => (Slot::Failed(e.clone()), Err(e)),
        };
        *slot = next;
        out
    }

    /// The body back, after the call.
    pub fn into_outcome(self) -> BodyOutcome {
        match self.slot.into_inner() {
            Slot::Unread(body, _) => BodyOutcome::Unread(body),
            Slot::Read(b) => BodyOutcome::Read(b),
            Slot::Failed(e) => BodyOutcome::Failed(e),
        }
    }
}

/// The pending bodies of one call: an `inbound` call's request, an `outbound` call's response.
#[derive(Default)]
pub struct CallBodies {
    pub request: Option<PendingBody>,
    pub response: Option<PendingBody>,
}

impl CallBodies {
    /// `readBody {which}`: the reply's `ok` object, or the error user code sees.
    pub(crate) async fn read(&self, which: Option<&str>) -> Result<serde_json::Value, String> {
        let body = match which {
            Some("request") => self.request.as_ref(),
            Some("response") => self.response.as_ref(),
            other => {
                return Err(format!(
                    "readBody of {other:?}: which must be \"request\" or \"response\""
                ));
            }
        };
        let Some(body) = body else {
            return Err(format!(
                "no {} body of this call waits in the gateway",
                which.unwrap_or_default()
            ));
        };
        let bytes = body.read().await?;
        Ok(serde_json::json!({ "bodyB64": super::protocol::encode_body(&bytes) }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(limit: usize) -> ReadBody {
        Box::new(move |b| {
            Box::pin(async move {
                axum::body::to_bytes(b, limit)
                    .await
                    .map_err(|e| e.to_string())
            })
        })
    }

    #[tokio::test]
    async fn unread_stays_a_body_and_read_is_kept() {
        let p = PendingBody::new(Body::from("abc"), reader(10));
        assert!(matches!(p.into_outcome(), BodyOutcome::Unread(_)));
        let p = PendingBody::new(Body::from("abc"), reader(10));
        assert_eq!(p.read().await.unwrap(), "abc");
        assert_eq!(p.read().await.unwrap(), "abc");
        assert!(matches!(p.into_outcome(), BodyOutcome::Read(b) if b == "abc"));
        let p = PendingBody::new(Body::from("abcdef"), reader(3));
        assert!(p.read().await.is_err());
        assert!(matches!(p.into_outcome(), BodyOutcome::Failed(_)));
    }

    #[tokio::test]
    async fn read_body_names_which() {
        let bodies = CallBodies {
            request: Some(PendingBody::new(Body::from("hi"), reader(10))),
            response: None,
        };
        assert_eq!(
            bodies.read(Some("request")).await.unwrap(),
            serde_json::json!({"bodyB64": "aGk="})
        );
        assert!(bodies.read(Some("response")).await.is_err());
        assert!(bodies.read(None).await.is_err());
    }
}
