//! Downstream `idJag` options (rule 63).
//!
//! Owns: the `{enabled:false}` / `{enabled:true, …}` shapes and the trusted-issuer list.

use super::IdJagInbound;
use super::urls::opt_url;
use crate::config::jsonc::Node;
use crate::config::policies::reader::ObjReader;
use crate::diag::diagnostic::Findings;
use crate::diag::rules;

/// `idJag` (rule 63): `{enabled:false}` or `{enabled:true, …}`.
pub(super) fn parse_id_jag(name: &str, node: &Node, findings: &mut Findings) -> IdJagInbound {
    let rule = &rules::OAUTH_ID_JAG;
    let Some(mut r) = ObjReader::new(node, format!("policy `{name}`: idJag"), rule, findings)
    else {
        return IdJagInbound::default();
    };
    let enabled = if r.has("enabled") {
        r.opt_bool_with("enabled", rule)
    } else {
        r.missing("enabled", rule);
        None
    };
    match enabled.map(|e| e.value) {
        Some(true) => {}
        Some(false) => {
            r.strict(&["enabled"], rule);
            return IdJagInbound { enabled: false };
        }
        None => return IdJagInbound::default(),
    }
    r.strict(
        &[
            "enabled",
            "trustedIssuers",
            "authorizationDetailsTypesAllowed",
            "expectedClientIds",
            "subjectMapping",
        ],
        rule,
    );
    if let Some(list) = r.get("trustedIssuers") {
        match list.as_array() {
            None => {
                let msg = format!(
                    "policy `{name}`: idJag.trustedIssuers must be an array, found {}",
                    list.kind_name()
                );
                r.err(rule, list.span, msg);
            }
            Some([]) => {
                let msg = format!(
                    "policy `{name}`: idJag.trustedIssuers must list at least one issuer (omit it to trust the browser-login IdP)"
                );
                r.err(rule, list.span, msg);
            }
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    let ctx = format!("policy `{name}`: idJag.trustedIssuers[{i}]");
                    let Some(mut ir) = ObjReader::new(item, ctx.clone(), rule, &mut *r.findings)
                    else {
                        continue;
                    };
                    ir.strict(&["issuer", "jwksUrl"], rule);
                    let issuer = opt_url(&mut ir, "issuer", rule);
                    let jwks = opt_url(&mut ir, "jwksUrl", rule);
                    if ir.has("issuer") != ir.has("jwksUrl") {
                        let span = ir.span();
                        ir.err(
                            rule,
                            span,
                            format!("{ctx}: give both `issuer` and `jwksUrl`, or neither (then the browser-login IdP is trusted)"),
                        );
                    }
                    let _ = (issuer, jwks);
                }
            }
        }
    }
    r.opt_str_list_with("authorizationDetailsTypesAllowed", rule, false);
    r.opt_str_list_with("expectedClientIds", rule, false);
    r.opt_enum_with(
        "subjectMapping",
        &["iss_prefix", "iss_tenant_prefix", "sub_id_only"],
        rule,
    );
    IdJagInbound { enabled: true }
}
