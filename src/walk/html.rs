//! Just enough HTML reading for the browser leg a script can drive: the consent form (its
//! action, hidden inputs and approve button) and a "Connect" link. Consent pages are simple,
//! server-rendered and ours or an SDK's; this is not a general HTML parser.

/// A form to submit: where, and the fields (hidden inputs plus the chosen button).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

/// The first POST form that has an approving button (`approve`, `allow`, `authorize`,
/// `consent`, `continue`), with that button's name/value added to its hidden fields.
pub fn approve_form(html: &str) -> Option<Form> {
    let lower = html.to_ascii_lowercase();
    let mut from = 0;
    while let Some(start) = lower[from..].find("<form").map(|i| i + from) {
        let end = lower[start..]
            .find("</form>")
            .map(|i| i + start)
            .unwrap_or(html.len());
        from = end.max(start + 5);
        let open_end = lower[start..].find('>').map(|i| i + start)?;
        let open = &html[start..open_end];
        if !attr(open, "method").is_some_and(|m| m.eq_ignore_ascii_case("post")) {
            continue;
        }
        let body = &html[open_end..end];
        let mut fields = Vec::new();
        for tag in tags(body, "input") {
            let kind = attr(tag, "type").unwrap_or_default().to_ascii_lowercase();
            if matches!(kind.as_str(), "submit" | "button" | "checkbox" | "radio") {
                continue;
            }
            if let Some(name) = attr(tag, "name") {
                fields.push((name, attr(tag, "value").unwrap_or_default()));
            }
        }
        let approving = ["approve", "allow", "authorize", "consent", "continue"];
        let button = tags(body, "button").into_iter().find(|b| {
            attr(b, "value").is_some_and(|v| approving.contains(&v.to_ascii_lowercase().as_str()))
        });
        if let Some(b) = button {
            if let (Some(n), Some(v)) = (attr(b, "name"), attr(b, "value")) {
                fields.push((n, v));
            }
            return Some(Form {
                action: attr(open, "action").unwrap_or_default(),
                fields,
            });
        }
    }
    None
}

/// The `href` of the first link whose text or id says "connect".
pub fn connect_link(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let mut from = 0;
    while let Some(start) = lower[from..].find("<a ").map(|i| i + from) {
        let open_end = lower[start..].find('>').map(|i| i + start)?;
        let close = lower[open_end..]
            .find("</a>")
            .map(|i| i + open_end)
            .unwrap_or(open_end);
        from = open_end;
        let text = &lower[open_end..close];
        let open = &html[start..open_end];
        let id = attr(open, "id").unwrap_or_default().to_ascii_lowercase();
        if text.contains("connect") || id.contains("connect") {
            return attr(open, "href");
        }
    }
    None
}

/// The `<title>` of a page, for a one-line summary.
pub fn title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let start = lower.find("<title>")? + 7;
    let end = lower[start..].find("</title>")? + start;
    Some(unescape(html[start..end].trim()))
}

/// The opening tags `<name …>` in `html`.
fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let lower = html.to_ascii_lowercase();
    let needle = format!("<{name}");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(start) = lower[from..].find(&needle).map(|i| i + from) {
        let Some(end) = lower[start..].find('>').map(|i| i + start) else {
            break;
        };
        out.push(&html[start..end]);
        from = end;
    }
    out
}

/// An attribute's value in an opening tag (quoted with " or ', or bare), unescaped.
fn attr(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(name).map(|i| i + from) {
        from = i + name.len();
        let before_ok = i > 0 && lower.as_bytes()[i - 1].is_ascii_whitespace();
        let rest = tag[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let rest = rest[1..].trim_start();
        let value = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => rest[1..].split(q).next().unwrap_or_default(),
            _ => rest
                .split(|c: char| c.is_ascii_whitespace() || c == '>')
                .next()
                .unwrap_or_default(),
        };
        return Some(unescape(value));
    }
    None
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_gateway_consent_form() {
        let page = r#"<html><title>Authorize &amp; go</title><form method="post" action="/__zuplo/oauth/setup">
<input type="hidden" name="state" value="a&amp;b">
<button type="submit" name="decision" value="cancel">Cancel</button>
<button type="submit" name="decision" value="approve" class="primary">Authorize</button></form>"#;
        let f = approve_form(page).unwrap();
        assert_eq!(f.action, "/__zuplo/oauth/setup");
        assert_eq!(
            f.fields,
            vec![
                ("state".to_string(), "a&b".to_string()),
                ("decision".to_string(), "approve".to_string())
            ]
        );
        assert_eq!(title(page).as_deref(), Some("Authorize & go"));
    }

    #[test]
    fn a_cancel_only_form_is_not_submitted_and_links_are_found() {
        let page = r#"<form method=post action=/x><input name=decision value=cancel type=hidden><button value=cancel>Cancel</button></form>
<a class="btn" id="connect-linear" href="/auth/connections/linear/connect?x=1&amp;y=2">Connect Linear</a>"#;
        assert_eq!(approve_form(page), None);
        assert_eq!(
            connect_link(page).as_deref(),
            Some("/auth/connections/linear/connect?x=1&y=2")
        );
        assert_eq!(
            approve_form("<form method=\"get\"><button value=approve></button></form>"),
            None
        );
    }
}
