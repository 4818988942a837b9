//! `mcpgw token`: mint a token from mcpgw's local issuer for a route's JWT-family policy
//! (SPEC §16.13, D22, D25 a), for `mcpgw dev --local-idp`.

use crate::config::policies::{JwtPolicy, PolicyConfig};
use crate::policies::local_issuer::{self, LocalIssuer};
use crate::store::{keyfile, local_idp_key};
use crate::validate::{self, Options};
use anyhow::{Context as _, bail};
use clap::Args;
use serde_json::{Value, json};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Project folder
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The route whose JWT policy the token is for (its path, e.g. /v1/todos)
    #[arg(long, value_name = "PATH")]
    pub route: String,
    /// The JWT policy, when the route has several
    #[arg(long, value_name = "NAME")]
    pub policy: Option<String>,
    /// The token's subject (`sub`; PropelAuth's `user_id` too)
    #[arg(long, value_name = "NAME")]
    pub sub: String,
    /// An extra claim (repeatable); VALUE is JSON when it parses, else a string
    #[arg(long, value_name = "KEY=VALUE")]
    pub claim: Vec<String>,
    /// Lifetime in seconds
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub ttl: u64,
    /// Where local-idp.key lives (default: <DIR>/.mcpgw, as mcpgw dev)
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Print {token, iss, aud, exp, policy} as JSON instead of the bare token
    #[arg(long)]
    pub json: bool,
}

/// `k=v` with `v` read as JSON when it parses.
fn parse_claim(s: &str) -> anyhow::Result<(String, Value)> {
    let Some((k, v)) = s.split_once('=') else {
        bail!("--claim {s:?}: expected KEY=VALUE");
    };
    if k.is_empty() {
        bail!("--claim {s:?}: the key is empty");
    }
    let value = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()));
    Ok((k.to_string(), value))
}

pub fn run(args: TokenArgs) -> anyhow::Result<u8> {
    let extra = args
        .claim
        .iter()
        .map(|c| parse_claim(c))
        .collect::<anyhow::Result<Vec<_>>>()?;
    // judged as `dev --local-idp` serves it: IdP-only options may be unset (D25 b)
    let options = Options {
        process_env: true,
        baseline: None,
        local_idp: true,
        ..Options::default()
    };
    let report = validate::validate_path(&args.dir, &options)
        .with_context(|| format!("cannot read the project {}", args.dir.display()))?;
    let (name, policy) = pick_policy(&report, &args.route, args.policy.as_deref())?;
    let state_dir = args
        .state_dir
        .clone()
        .unwrap_or_else(|| keyfile::default_state_dir(&report.project.root));
    keyfile::ensure_state_dir(&state_dir)?;
    let pem = local_idp_key::load_or_create(&state_dir)?;
    let issuer = LocalIssuer::from_pkcs8_pem(pem.expose())?;
    let now = crate::clock::now_unix();
    let ttl = i64::try_from(args.ttl).unwrap_or(i64::MAX);
    let claims = local_issuer::claims_for(policy, &args.sub, now, ttl, &extra);
    let token = issuer.sign(&claims)?;
    if args.json {
        let doc = json!({
            "token": token,
            "iss": claims.get("iss"),
            "aud": claims.get("aud"),
            "exp": claims.get("exp"),
            "policy": name,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!("{token}");
    }
    Ok(0)
}

/// The JWT-family policy of `route` (named by `--policy` when there are several).
fn pick_policy<'r>(
    report: &'r validate::Report,
    route: &str,
    wanted: Option<&str>,
) -> anyhow::Result<(&'r str, &'r JwtPolicy)> {
    let project = &report.project;
    let jwt_of = |r: &'r crate::config::project::Route| -> Vec<(&'r str, &'r JwtPolicy)> {
        r.inbound
            .iter()
            .filter_map(|n| {
                let i = project.policy_position(&n.value)?;
                match &report.model.policies[i] {
                    PolicyConfig::Jwt(j) => Some((n.value.as_str(), &**j)),
                    _ => None,
                }
            })
            .collect()
    };
    let Some(r) = project.routes.iter().find(|r| r.path.value == route) else {
        let with: Vec<String> = project
            .routes
            .iter()
            .filter(|r| !jwt_of(r).is_empty())
            .map(|r| format!("  {}", r.path.value))
            .collect();
        if with.is_empty() {
            bail!("no route {route} in the project, and no route has a JWT policy");
        }
        bail!(
            "no route {route} in the project; routes with a JWT policy:\n{}",
            with.join("\n")
        );
    };
    let found = jwt_of(r);
    match (found.as_slice(), wanted) {
        ([], _) => bail!(
            "route {route} has no JWT policy that mcpgw can mint for (open-id-jwt-auth-inbound, auth0-jwt-auth-inbound, …); its inbound policies: {}",
            r.inbound
                .iter()
                .map(|n| n.value.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ([one], None) => Ok(*one),
        (_, Some(w)) => found.iter().find(|(n, _)| *n == w).copied().ok_or_else(|| {
            anyhow::anyhow!(
                "route {route} has no JWT policy {w:?}; its JWT policies: {}",
                found.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            )
        }),
        (many, None) => bail!(
            "route {route} has several JWT policies; choose one with --policy: {}",
            many.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_claim;
    use serde_json::json;

    #[test]
    fn claim_values_are_json_when_they_parse() {
        assert_eq!(parse_claim("n=3").unwrap(), ("n".into(), json!(3)));
        assert_eq!(
            parse_claim(r#"app_metadata={"user_role":"admin"}"#)
                .unwrap()
                .1,
            json!({"user_role": "admin"})
        );
        assert_eq!(parse_claim("email=a@b.c").unwrap().1, json!("a@b.c"));
        assert_eq!(parse_claim("e=").unwrap().1, json!(""));
        assert!(parse_claim("novalue").is_err());
        assert!(parse_claim("=x").is_err());
    }
}
