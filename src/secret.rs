//! Secret values that must never reach a log or a terminal by accident.
//!
//! Owns: [`Secret`], a string newtype whose `Debug` and `Display` print `[redacted]`. Code that
//! really needs the value calls [`Secret::expose`], which is easy to grep for. And, in the style
//! of oauth2-rs, one distinct type per kind of client-side credential ([`PkceVerifier`],
//! [`ClientSecret`], [`AccessToken`], [`RefreshToken`]): they do not print, do not implement
//! `Clone` (a copy is an explicit `T::new(x.secret())`), and cannot be passed one for another.
//! They serialize as the bare string (the sealed upstream vault and `oauth walk --save` keep
//! them): serde writes the value, formatting never does.

#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A distinct redacted string type: `Debug` names the type, nothing prints the value, no `Clone`.
macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                $name(value.into())
            }

            /// The value itself: only for the wire.
            pub fn secret(&self) -> &str {
                &self.0
            }

            pub fn into_secret(self) -> String {
                self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        /// The bare string, as a `String` field would be written: only for the sealed vault and
        /// the `--save` token file.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d).map($name)
            }
        }
    };
}

secret_type!(
    /// A PKCE code verifier (RFC 7636): sent once, at the code exchange.
    PkceVerifier
);
secret_type!(
    /// A client secret the gateway or a tool holds for itself at an authorization server.
    ClientSecret
);
secret_type!(
    /// An access token held by a client (sent only in the `Authorization` header).
    AccessToken
);
secret_type!(
    /// A refresh token held by a client.
    RefreshToken
);

#[cfg(test)]
mod tests {
    #[test]
    fn never_prints_the_value() {
        let s = super::Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "[redacted] Secret([redacted])");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn typed_secrets_never_print_their_value() {
        let v = super::PkceVerifier::new("verifier-value");
        let t = super::RefreshToken::new("refresh-value");
        assert_eq!(
            format!("{v:?} {t:?}"),
            "PkceVerifier([redacted]) RefreshToken([redacted])"
        );
        assert_eq!(v.secret(), "verifier-value");
        assert_eq!(t.into_secret(), "refresh-value");
    }

    #[test]
    fn typed_secrets_serialize_as_the_bare_string() {
        #[derive(serde::Serialize, serde::Deserialize, Debug)]
        struct Held {
            access_token: Option<super::AccessToken>,
            client_secret: Option<super::ClientSecret>,
        }
        let held = Held {
            access_token: Some(super::AccessToken::new("at-value")),
            client_secret: None,
        };
        let json = serde_json::to_string(&held).expect("serializes");
        assert_eq!(json, r#"{"access_token":"at-value","client_secret":null}"#);
        let back: Held = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(
            back.access_token.as_ref().map(|t| t.secret()),
            Some("at-value")
        );
        assert!(!format!("{back:?}").contains("at-value"));
    }
}
