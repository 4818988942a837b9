//! The consent and setup pages of the authorization server (SPEC §3.10), from
//! `templates/pages/`. No external assets, no JavaScript. Error pages and the HTML headers are
//! `web::html`'s.

use crate::web::html::{escape, fill};

const CONSENT: &str = include_str!("../../templates/pages/consent.html");
const SETUP: &str = include_str!("../../templates/pages/setup.html");

pub struct Consent<'a> {
    pub client_name: &'a str,
    pub route: &'a str,
    pub subject: &'a str,
    pub setup_url: &'a str,
    pub state: &'a str,
}

pub fn consent(c: &Consent<'_>) -> String {
    fill(
        CONSENT,
        &[
            ("client_name", c.client_name),
            ("route", c.route),
            ("subject", c.subject),
            ("setup_url", c.setup_url),
            ("state", c.state),
        ],
    )
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
    fill(
        SETUP,
        &[
            ("client_name", c.client_name),
            ("route", c.route),
            ("subject", c.subject),
            ("setup_url", c.setup_url),
            ("state", c.state),
        ],
    )
    .replace("{{connect_items}}", &items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_it_fills() {
        let page = consent(&Consent {
            client_name: "<script>alert(1)</script>",
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
