//! The consent and setup pages of the authorization server (SPEC §3.10), from
//! `templates/pages/`. No external assets, no JavaScript. Error pages and the HTML headers are
//! `web::html`'s.

use crate::web::html::{escape, fill};

const CONSENT: &str = include_str!("../../templates/pages/consent.html");
const SETUP: &str = include_str!("../../templates/pages/setup.html");

pub struct Consent<'a> {
    pub client_name: &'a str,
    /// Who vouches for the name (issue #13): nobody for DCR, the document's host for CIMD.
    pub name_source: NameSource<'a>,
    /// Where the code goes: the authorization's redirect URI.
    pub redirect_uri: &'a str,
    /// The gateway's own host, to warn when the code leaves for another one.
    pub gateway_host: &'a str,
    pub route: &'a str,
    pub subject: &'a str,
    pub setup_url: &'a str,
    pub state: &'a str,
}

/// Who named the client the consent page shows.
#[derive(Debug, Clone, Copy)]
pub enum NameSource<'a> {
    /// Dynamic Client Registration: the client named itself.
    SelfAsserted,
    /// A Client ID Metadata Document on this host.
    MetadataDocument { host: &'a str },
}

impl Consent<'_> {
    fn name_note(&self) -> String {
        match self.name_source {
            NameSource::SelfAsserted => "unverified: registered by the client itself".into(),
            NameSource::MetadataDocument { host } => {
                format!("named by the client's metadata document at {host}")
            }
        }
    }

    /// scheme + host + path of the redirect URI (the query is left to the full value).
    fn redirect_shown(&self) -> String {
        match url::Url::parse(self.redirect_uri) {
            Ok(u) => {
                format!(
                    "{}://{}{}",
                    u.scheme(),
                    u.host_str().unwrap_or_default(),
                    u.port().map(|p| format!(":{p}")).unwrap_or_default()
                ) + u.path()
            }
            Err(_) => self.redirect_uri.to_string(),
        }
    }

    /// A warning when the code goes to an https host that is not the gateway's own: the usual
    /// shape of a phishing registration (a local client redirects to a loopback address).
    fn redirect_warning(&self) -> String {
        let Ok(u) = url::Url::parse(self.redirect_uri) else {
            return String::new();
        };
        let host = u.host_str().unwrap_or_default();
        if u.scheme() == "https" && !host.eq_ignore_ascii_case(self.gateway_host) {
            format!(
                "Approving sends your authorization to {host}, another site. Continue only if you \
                 expect {host} to act for you."
            )
        } else {
            String::new()
        }
    }

    fn values(&self) -> [(&'static str, String); 9] {
        [
            ("client_name", self.client_name.to_string()),
            ("name_note", self.name_note()),
            ("redirect_shown", self.redirect_shown()),
            ("redirect_uri", self.redirect_uri.to_string()),
            ("redirect_warning", self.redirect_warning()),
            ("route", self.route.to_string()),
            ("subject", self.subject.to_string()),
            ("setup_url", self.setup_url.to_string()),
            ("state", self.state.to_string()),
        ]
    }
}

pub fn consent(c: &Consent<'_>) -> String {
    let values = c.values();
    let pairs: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    fill(CONSENT, &pairs)
}

/// The consent page in setup mode (§3.10): a Connect link for each pending upstream, Cancel,
/// and no Authorize button. `pending` is (display name, connect URL).
pub fn setup(c: &Consent<'_>, pending: &[(String, String)]) -> String {
    let items: String = pending
        .iter()
        .enumerate()
        .map(|(i, (name, url))| {
            format!(
                "<li><a class=\"connect\" id=\"connect-{i}\" href=\"{}\">Connect {}</a></li>\n",
                escape(url),
                escape(name)
            )
        })
        .collect();
    let values = c.values();
    let pairs: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    fill(SETUP, &pairs).replace("{{connect_items}}", &items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_it_fills() {
        let page = consent(&Consent {
            client_name: "<script>alert(1)</script>",
            name_source: NameSource::SelfAsserted,
            redirect_uri: "https://evil.example/cb?x=<y>",
            gateway_host: "127.0.0.1",
            route: "/mcp/a",
            subject: "a\"b",
            setup_url: "/__zuplo/oauth/setup",
            state: "x'y",
        });
        assert!(!page.contains("<script>alert"));
        assert!(page.contains("&lt;script&gt;"));
        assert!(page.contains("value=\"x&#39;y\""));
        assert!(page.contains(r#"<button type="submit" name="decision" value="approve""#));
        assert!(page.contains(r#"<button type="submit" name="decision" value="cancel""#));
    }
}
