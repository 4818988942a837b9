//! What describes an IdP wrapper, and the one function that runs such a description
//! (rules 66–76, SPEC §11).
//!
//! Owns: the descriptor types ([`Idp`], [`Field`], [`Check`]), reading and checking a wrapper's
//! own options by its descriptor, and filling its URL templates into the four URLs of
//! [`Derived`]. The descriptors themselves, one per IdP, are the table in `providers`.

use std::borrow::Cow;

use super::{OAuthProvider, shown};
use crate::config::policies::reader::ObjReader;
use crate::diag::rules::Rule;
use crate::diag::source::{Span, Spanned};

/// One IdP wrapper, as data.
pub(super) struct Idp {
    pub provider: OAuthProvider,
    /// The rule of the findings on this wrapper's own options, and on a refused
    /// `browserLoginOverrides.pkce`.
    pub rule: &'static Rule,
    /// How its own options (those besides the common ones) are read and checked.
    pub options: Options,
    /// URL templates (§11): `{key}` stands for the checked value of option `key`, `{issuer}`
    /// for the derived issuer (not in `issuer` itself), and a `[…]` group is left out when an
    /// option it names is absent.
    pub issuer: &'static str,
    pub jwks: &'static str,
    pub authorize: &'static str,
    pub token: &'static str,
    /// The option sent as `audience=` on the IdP authorize request (Auth0).
    pub audience: Option<&'static str>,
    /// Whether `browserLoginOverrides` has a `pkce` key (Clerk and OneLogin: no).
    pub pkce: bool,
}

/// How a wrapper's own options are read.
pub(super) enum Options {
    /// Every field is read first (absence and type findings), then each value read is checked.
    Fields {
        /// In the order the unknown-option message lists them.
        fields: &'static [Field],
        /// The option findings about the derived URLs point at (rules 64, 77).
        anchor: &'static str,
        /// The IdP host comes from the user (rule 64 applies), not from the provider.
        user_host: bool,
    },
    /// Options with logic of their own (Ping: `customDomain`, or `environmentId` and `region`).
    Custom {
        keys: &'static [&'static str],
        read: fn(&mut ObjReader<'_, '_>, &'static Rule) -> Option<Read>,
    },
}

/// One option of a wrapper.
pub(super) struct Field {
    pub key: &'static str,
    pub need: Need,
    pub check: Check,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Need {
    /// A string that must be there.
    Required,
    /// A string when present.
    Optional,
    /// A non-empty string when present.
    OptionalNonEmpty,
    /// The common `clientId`, which the wrapper reads (and reports when missing); checked here.
    ClientId,
}

/// Why a value is wrong, to follow `policy `p`: key "value"` in the finding.
pub(super) type Why = Cow<'static, str>;

/// What a value must look like.
#[derive(Clone, Copy)]
pub(super) enum Check {
    /// Any string, used as written.
    Any,
    /// Used as written when the test passes; otherwise the finding says why.
    Is(fn(&str) -> bool, &'static str),
    /// The value to derive with (e.g. normalised), or why it is wrong. Gets the other options as
    /// read, for checks across options (a Cognito pool id starts with its region).
    Map(fn(&str, &Values) -> Result<String, Why>),
}

impl Field {
    pub const fn required(key: &'static str, check: Check) -> Field {
        Field {
            key,
            need: Need::Required,
            check,
        }
    }

    pub const fn optional(key: &'static str, check: Check) -> Field {
        Field {
            key,
            need: Need::Optional,
            check,
        }
    }

    pub const fn optional_nonempty(key: &'static str) -> Field {
        Field {
            key,
            need: Need::OptionalNonEmpty,
            check: Check::Any,
        }
    }

    pub const fn client_id(check: Check) -> Field {
        Field {
            key: "clientId",
            need: Need::ClientId,
            check,
        }
    }
}

/// Option values by key.
#[derive(Debug, Default)]
pub(super) struct Values(Vec<(&'static str, String)>);

impl Values {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn set(&mut self, key: &'static str, value: String) {
        self.0.retain(|(k, _)| *k != key);
        self.0.push((key, value));
    }
}

/// A wrapper's own options, read and checked.
pub(super) struct Read {
    /// The checked values the URL templates are filled with.
    pub values: Values,
    /// Where findings about the derived URLs point.
    pub anchor: Span,
    /// The IdP host comes from the user (rule 64 applies).
    pub user_host: bool,
}

/// What a wrapper derives from its options (§11).
pub(super) struct Derived {
    pub issuer: String,
    pub jwks_url: String,
    pub authorize_url: String,
    pub token_url: String,
    pub audience: Option<String>,
    /// The option the IdP host came from, for findings about the derived URLs (rules 64, 77).
    pub span: Span,
    /// The host is the user's (rule 64 applies), not a fixed provider host.
    pub user_host: bool,
}

impl Idp {
    /// The option keys of this wrapper besides the common ones, in message order.
    pub fn keys(&self) -> Vec<&'static str> {
        match &self.options {
            Options::Fields { fields, .. } => fields
                .iter()
                .filter(|f| f.need != Need::ClientId)
                .map(|f| f.key)
                .collect(),
            Options::Custom { keys, .. } => keys.to_vec(),
        }
    }

    /// Reads and checks this wrapper's own options (findings under [`Idp::rule`]) and derives
    /// its URLs. `None` when an option is missing or wrong.
    pub fn derive(
        &self,
        r: &mut ObjReader<'_, '_>,
        client_id: Option<&Spanned<String>>,
    ) -> Option<Derived> {
        let read = match &self.options {
            Options::Fields {
                fields,
                anchor,
                user_host,
            } => read_fields(r, self.rule, fields, client_id, anchor, *user_host)?,
            Options::Custom { read, .. } => read(r, self.rule)?,
        };
        let mut values = read.values;
        let issuer = render(self.issuer, &values)?;
        values.set("issuer", issuer.clone());
        Some(Derived {
            jwks_url: render(self.jwks, &values)?,
            authorize_url: render(self.authorize, &values)?,
            token_url: render(self.token, &values)?,
            issuer,
            audience: self
                .audience
                .and_then(|k| values.get(k))
                .map(str::to_string),
            span: read.anchor,
            user_host: read.user_host,
        })
    }
}

/// Reads every field (absence and type findings), then checks each value read (shape
/// findings). `None` when a needed value is missing or any value is wrong.
fn read_fields(
    r: &mut ObjReader<'_, '_>,
    rule: &'static Rule,
    fields: &[Field],
    client_id: Option<&Spanned<String>>,
    anchor: &str,
    user_host: bool,
) -> Option<Read> {
    let read: Vec<Option<Spanned<String>>> = fields
        .iter()
        .map(|f| match f.need {
            Need::Required => req_str(r, f.key, rule),
            Need::Optional => r.opt_str_with(f.key, rule),
            Need::OptionalNonEmpty => r.opt_nonempty_with(f.key, rule),
            Need::ClientId => client_id.cloned(),
        })
        .collect();
    let mut as_read = Values::default();
    for (f, v) in fields.iter().zip(&read) {
        if let Some(v) = v {
            as_read.set(f.key, v.value.clone());
        }
    }

    let mut ok = true;
    let mut values = Values::default();
    let mut anchor_span = None;
    for (f, v) in fields.iter().zip(read) {
        let Some(v) = v else {
            ok &= matches!(f.need, Need::Optional | Need::OptionalNonEmpty);
            continue;
        };
        let checked = match f.check {
            Check::Any => Ok(v.value.clone()),
            Check::Is(test, why) => {
                if test(&v.value) {
                    Ok(v.value.clone())
                } else {
                    Err(Cow::Borrowed(why))
                }
            }
            Check::Map(map) => map(&v.value, &as_read),
        };
        match checked {
            Ok(value) => {
                if f.key == anchor {
                    anchor_span = Some(v.span);
                }
                values.set(f.key, value);
            }
            Err(why) => {
                bad(r, rule, f.key, &v, &why);
                ok = false;
            }
        }
    }
    if !ok {
        return None;
    }
    Some(Read {
        values,
        anchor: anchor_span?,
        user_host,
    })
}

/// A required provider option that must be a string; absence and type errors under `rule`.
fn req_str(r: &mut ObjReader<'_, '_>, key: &str, rule: &'static Rule) -> Option<Spanned<String>> {
    if !r.has(key) {
        r.missing(key, rule);
        return None;
    }
    r.opt_str_with(key, rule)
}

/// A shape finding at the value: `policy `x`: key "value" why`.
pub(super) fn bad(
    r: &mut ObjReader<'_, '_>,
    rule: &'static Rule,
    key: &str,
    v: &Spanned<String>,
    why: &str,
) {
    let msg = format!("{}: {key} {} {why}", r.ctx, shown(r.get(key), &v.value));
    r.err(rule, v.span, msg);
}

/// Fills a URL template (see [`Idp::issuer`]). `None` when it names a value that is absent
/// outside a `[…]` group, or is malformed: a mistake in the table, which the tests rule out.
pub(super) fn render(template: &str, values: &Values) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('[') {
        out.push_str(&fill(&rest[..open], values)?);
        let group = &rest[open + 1..];
        let close = group.find(']')?;
        if let Some(text) = fill(&group[..close], values) {
            out.push_str(&text);
        }
        rest = &group[close + 1..];
    }
    out.push_str(&fill(rest, values)?);
    Some(out)
}

/// Replaces each `{key}` in `text` with its value; `None` when one is absent.
fn fill(text: &str, values: &Values) -> Option<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let name = &rest[open + 1..];
        let close = name.find('}')?;
        out.push_str(values.get(&name[..close])?);
        rest = &name[close + 1..];
    }
    out.push_str(rest);
    Some(out)
}
