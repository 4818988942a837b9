//! What every HTTP surface of the gateway writes on the wire, in one place.
//!
//! Owns: problem+json documents ([`problem`], SPEC §3.1), OAuth error JSON and the other OAuth
//! wire helpers ([`oauth`], §3.2), browser HTML pages ([`html`], §3.3), the public origin of a
//! request ([`origin`], §3.0, D6) and percent-encoding of URL components, both ways
//! ([`encoding`]). Knows no routes, policies or stores.
//!
//! Each surface has one typed error that maps to its response in one place:
//! [`problem::GatewayError`] (into a [`problem::Problem`]), [`oauth::OAuthError`] and
//! [`html::ErrorPage`] (of a [`html::PageKind`]).

pub mod encoding;
pub mod html;
pub mod oauth;
pub mod origin;
pub mod problem;
