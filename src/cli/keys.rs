//! `mcpgw keys create | list | revoke`: the local API-key consumers that `api-key-inbound`
//! checks under `mcpgw dev` (SPEC §16.1, D21, D25 e). They live in the project's state folder
//! (`<DIR>/.mcpgw/state.db`, or `--state-dir` as `mcpgw dev` has it); a running `mcpgw dev`
//! reads them on every request, so a new or revoked key counts at once.

use crate::config::policies::PolicyConfig;
use crate::config::project;
use crate::store::keyfile;
use crate::store::sqlite::SqliteStore;
use crate::store::{
    ApiKeyRecord, AsyncStore, ConsumerKeys, NewApiKey, RevokeApiKeyOutcome, Store,
    consumer_name_problem,
};
use crate::web::problem::rfc3339;
use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use colored::Colorize as _;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a consumer with a key, or a further key for an existing consumer; prints the key once
    #[command(
        after_help = "Examples:\n  mcpgw keys create alice\n  mcpgw keys create acme --metadata '{\"roles\":[\"admin\"],\"plan\":\"pro\"}'\n  mcpgw keys create ci-bot --expires 2026-12-31 --json\n  mcpgw keys create alice --expires 2026-06-30T12:00:00+02:00 --project my-gateway\n\nThe consumer name becomes request.user.sub, its metadata request.user.data. --expires takes an RFC 3339\ndate-time or a date (the key then works to the end of that day, UTC). Only the key's sha256 hash is\nstored: copy the key now."
    )]
    Create(CreateArgs),
    /// List consumers, their metadata and key ids (never the keys)
    #[command(
        after_help = "Examples:\n  mcpgw keys list\n  mcpgw keys list --project my-gateway --json"
    )]
    List(ListArgs),
    /// Revoke a key by its id: it answers 401 Authorization Failed from the next request on
    #[command(
        after_help = "Examples:\n  mcpgw keys revoke key_3f9a0c1d2e4b5a69\n  mcpgw keys revoke key_3f9a0c1d2e4b5a69 --state-dir /tmp/gw-state --json"
    )]
    Revoke(RevokeArgs),
}

/// Where the keys live, shared by the three subcommands.
#[derive(Debug, Args)]
pub struct Place {
    /// Project folder
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub project: PathBuf,
    /// Where state.db lives (default: <DIR>/.mcpgw, as mcpgw dev)
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The consumer's name (request.user.sub): letters, digits and - _ . @
    pub consumer: String,
    /// The consumer's metadata as a JSON object (request.user.data); replaces an existing
    /// consumer's metadata
    #[arg(long, value_name = "JSON")]
    pub metadata: Option<String>,
    /// When the key stops working: an RFC 3339 date-time, or YYYY-MM-DD (end of that day, UTC)
    #[arg(long, value_name = "DATE")]
    pub expires: Option<String>,
    #[command(flatten)]
    pub place: Place,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub place: Place,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The key's id, as `mcpgw keys list` shows it (key_…)
    pub key_id: String,
    #[command(flatten)]
    pub place: Place,
}

pub fn run(command: KeysCommand) -> anyhow::Result<u8> {
    match command {
        KeysCommand::Create(a) => create(a),
        KeysCommand::List(a) => list(a),
        KeysCommand::Revoke(a) => revoke(a),
    }
}

/// The project root and its state folder.
fn locate(place: &Place) -> anyhow::Result<(PathBuf, PathBuf)> {
    let root = project::resolve_root(&place.project)
        .with_context(|| format!("cannot read the project {}", place.project.display()))?;
    let state = place
        .state_dir
        .clone()
        .unwrap_or_else(|| keyfile::default_state_dir(&root));
    Ok((root, state))
}

/// The store, or `None` when there is no state.db yet (list and revoke create nothing).
fn open_existing(state: &Path) -> anyhow::Result<Option<SqliteStore>> {
    let db = keyfile::db_path(state);
    if !db.exists() {
        return Ok(None);
    }
    Ok(Some(SqliteStore::open(&db)?))
}

fn create(args: CreateArgs) -> anyhow::Result<u8> {
    if let Some(why) = consumer_name_problem(&args.consumer) {
        bail!("{why}: {:?}", args.consumer);
    }
    let metadata = match &args.metadata {
        None => None,
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => Some(m),
            Ok(other) => bail!(
                "--metadata must be a JSON object such as '{{\"roles\":[\"admin\"]}}', found {}",
                kind(&other)
            ),
            Err(e) => bail!("--metadata is not JSON: {e}"),
        },
    };
    let now = crate::clock::now_unix();
    let expires_at = match &args.expires {
        None => None,
        Some(text) => Some(parse_expiry(text).map_err(|why| {
            anyhow::anyhow!("--expires {text:?}: {why}; write 2026-12-31 or 2026-12-31T18:00:00Z")
        })?),
    };
    let (root, state) = locate(&args.place)?;
    keyfile::ensure_state_dir(&state)?;
    let store = SqliteStore::open(&keyfile::db_path(&state))?;
    let created = store.create_api_key(
        &NewApiKey {
            consumer: args.consumer.clone(),
            metadata,
            expires_at,
        },
        now,
    )?;
    let expires = created.record.expires_at.map(rfc3339);
    if args.place.json {
        let doc = json!({
            "key": created.key.expose(),
            "id": created.record.id,
            "consumer": created.consumer.name,
            "metadata": Value::Object(created.consumer.metadata.clone()),
            "expires": expires,
            "consumer_created": created.consumer_created,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        let what = if created.consumer_created {
            "Created consumer"
        } else {
            "New key for consumer"
        };
        println!(
            "{what} {} (key id {}, {})",
            created.consumer.name.bold(),
            created.record.id.cyan(),
            match &expires {
                Some(e) => format!("expires {e}"),
                None => "no expiry".to_string(),
            }
        );
        if created.metadata_replaced {
            println!(
                "  metadata replaced: {}",
                Value::Object(created.consumer.metadata.clone())
            );
        }
        println!();
        println!("  {}", created.key.expose().green().bold());
        println!();
        println!("This is the only time mcpgw shows the key (state.db keeps its sha256 hash).");
        for how in send_hints(&root) {
            println!("Send it as: {how}");
        }
    }
    if expires_at.is_some_and(|e| now >= e) {
        eprintln!("warning: the key's expiry has already passed: it is refused from the start");
    }
    Ok(0)
}

fn list(args: ListArgs) -> anyhow::Result<u8> {
    let (_root, state) = locate(&args.place)?;
    let consumers = match open_existing(&state)? {
        Some(store) => store.list_consumers()?,
        None => Vec::new(),
    };
    let now = crate::clock::now_unix();
    if args.place.json {
        let doc = json!({ "consumers": consumers.iter().map(|c| consumer_json(c, now)).collect::<Vec<_>>() });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(0);
    }
    if consumers.is_empty() {
        println!(
            "No consumers in {} yet. Create one: mcpgw keys create NAME",
            keyfile::db_path(&state).display()
        );
        return Ok(0);
    }
    let id_width = consumers
        .iter()
        .flat_map(|c| &c.keys)
        .map(|k| k.id.len())
        .max()
        .unwrap_or(0);
    for c in &consumers {
        let meta = if c.consumer.metadata.is_empty() {
            String::new()
        } else {
            format!("  {}", Value::Object(c.consumer.metadata.clone()))
        };
        println!(
            "{}{meta}  (created {})",
            c.consumer.name.bold(),
            rfc3339(c.consumer.created_at)
        );
        for k in &c.keys {
            let expires = k.expires_at.map_or("never".to_string(), rfc3339);
            let status = match status(k, now) {
                "active" => "active".green().to_string(),
                "expired" => "expired".yellow().to_string(),
                _ => format!("revoked {}", k.revoked_at.map(rfc3339).unwrap_or_default())
                    .red()
                    .to_string(),
            };
            println!(
                "  {:<id_width$}  created {}  expires {expires:<20}  {status}",
                k.id.cyan(),
                rfc3339(k.created_at),
            );
        }
    }
    Ok(0)
}

fn revoke(args: RevokeArgs) -> anyhow::Result<u8> {
    let (_root, state) = locate(&args.place)?;
    let Some(store) = open_existing(&state)? else {
        bail!(
            "no key {} in {}: the state database does not exist yet",
            args.key_id,
            state.display()
        );
    };
    let now = crate::clock::now_unix();
    let (record, already) = match store.revoke_api_key(&args.key_id, now)? {
        RevokeApiKeyOutcome::Revoked(r) => (r, false),
        RevokeApiKeyOutcome::AlreadyRevoked(r) => (r, true),
        RevokeApiKeyOutcome::Missing => bail!(
            "no key {} in {} (mcpgw keys list shows the key ids)",
            args.key_id,
            keyfile::db_path(&state).display()
        ),
    };
    let at = record.revoked_at.map(rfc3339);
    if args.place.json {
        let doc = json!({
            "id": record.id,
            "consumer": record.consumer,
            "revoked": at,
            "already_revoked": already,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else if already {
        println!(
            "Key {} of {} was already revoked ({}).",
            record.id.cyan(),
            record.consumer.bold(),
            at.unwrap_or_default()
        );
    } else {
        println!(
            "Revoked key {} of {}: it answers 401 Authorization Failed from now on.",
            record.id.cyan(),
            record.consumer.bold()
        );
    }
    Ok(0)
}

fn status(k: &ApiKeyRecord, now: i64) -> &'static str {
    if k.revoked_at.is_some() {
        "revoked"
    } else if k.expired(now) {
        "expired"
    } else {
        "active"
    }
}

fn consumer_json(c: &ConsumerKeys, now: i64) -> Value {
    json!({
        "name": c.consumer.name,
        "metadata": Value::Object(c.consumer.metadata.clone()),
        "created": rfc3339(c.consumer.created_at),
        "keys": c.keys.iter().map(|k| json!({
            "id": k.id,
            "created": rfc3339(k.created_at),
            "expires": k.expires_at.map(rfc3339),
            "revoked": k.revoked_at.map(rfc3339),
            "status": status(k, now),
        })).collect::<Vec<_>>(),
    })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The project's api-key-inbound policies, by name (options that passed).
fn api_key_policies(
    report: &crate::validate::Report,
) -> Vec<(&str, &crate::config::policies::api_key::ApiKeyPolicy)> {
    report
        .project
        .policies
        .iter()
        .zip(&report.model.policies)
        .filter_map(|(decl, config)| match config {
            PolicyConfig::ApiKey(k) => Some((decl.name.value.as_str(), k)),
            _ => None,
        })
        .collect()
}

/// How the project's api-key-inbound policies read a key, e.g. `Authorization: Bearer <key>`.
fn send_hints(root: &Path) -> Vec<String> {
    let options = crate::validate::Options {
        process_env: true,
        ..crate::validate::Options::default()
    };
    let Ok(report) = crate::validate::validate_path(root, &options) else {
        return Vec::new();
    };
    let mut hints: Vec<String> = Vec::new();
    for (_, k) in api_key_policies(&report) {
        let value = if k.auth_scheme.is_empty() {
            "<key>".to_string()
        } else {
            format!("{} <key>", k.auth_scheme)
        };
        let hint = format!("{}: {value}", display_header(&k.auth_header));
        if !hints.contains(&hint) {
            hints.push(hint);
        }
    }
    hints
}

/// `authorization` → `Authorization`, `x-api-key` → `X-Api-Key`: how people write headers.
fn display_header(lower: &str) -> String {
    lower
        .split('-')
        .map(|part| {
            let mut c = part.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// The `mcpgw dev` banner's hint: routes use api-key-inbound but the store has no consumer yet.
pub(super) async fn dev_hint(
    report: &crate::validate::Report,
    store: &AsyncStore,
    project: &Path,
    state_dir: Option<&Path>,
) -> Option<String> {
    let policies = api_key_policies(report);
    let project_model = &report.project;
    let used = project_model.routes.iter().any(|r| {
        r.inbound
            .iter()
            .any(|n| policies.iter().any(|(name, _)| *name == n.value))
    });
    if !used {
        return None;
    }
    let empty = store.run(|s| s.list_consumers()).await.ok()?.is_empty();
    if !empty {
        return None;
    }
    let mut cmd = "mcpgw keys create my-client".to_string();
    if project != Path::new(".") {
        cmd.push_str(&format!(" --project {}", shell_word(project)));
    }
    if let Some(dir) = state_dir {
        cmd.push_str(&format!(" --state-dir {}", shell_word(dir)));
    }
    Some(format!(
        "api-key-inbound: no consumer has a key yet; create one (it works at once): {cmd}"
    ))
}

/// A path as one shell word: quoted when it holds anything but plain characters.
fn shell_word(p: &Path) -> String {
    let s = p.display().to_string();
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:@+,".contains(&b))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

// ---------------------------------------------------------------------------------------------
// --expires
// ---------------------------------------------------------------------------------------------

/// Days since 1970-01-01 of a proleptic Gregorian date (days-from-civil).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// `n` ASCII digits at `s[at..]`, as a number.
fn digits(s: &[u8], at: usize, n: usize) -> Option<i64> {
    let part = s.get(at..at + n)?;
    part.iter()
        .all(u8::is_ascii_digit)
        .then(|| part.iter().fold(0, |acc, b| acc * 10 + i64::from(b - b'0')))
}

/// `YYYY-MM-DD` → days since the epoch.
fn parse_date(s: &[u8]) -> Result<i64, &'static str> {
    let (Some(y), Some(m), Some(d)) = (digits(s, 0, 4), digits(s, 5, 2), digits(s, 8, 2)) else {
        return Err("not a date");
    };
    if s.get(4) != Some(&b'-') || s.get(7) != Some(&b'-') {
        return Err("not a date");
    }
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return Err("no such day");
    }
    Ok(days_from_civil(y, m, d))
}

/// An RFC 3339 date-time (`2026-12-31T18:00:00Z`, `…+02:00`, fractions ignored) or a date
/// (`2026-12-31`: the key works to the end of that day, UTC) → unix seconds of the expiry.
pub fn parse_expiry(text: &str) -> Result<i64, &'static str> {
    let s = text.trim().as_bytes();
    let days = parse_date(s)?;
    if s.len() == 10 {
        return Ok((days + 1) * 86_400);
    }
    if !matches!(s.get(10), Some(b'T' | b't' | b' ')) {
        return Err("not a date or an RFC 3339 date-time");
    }
    let (Some(h), Some(mi), Some(sec)) = (digits(s, 11, 2), digits(s, 14, 2), digits(s, 17, 2))
    else {
        return Err("the time must be HH:MM:SS");
    };
    if s.get(13) != Some(&b':') || s.get(16) != Some(&b':') {
        return Err("the time must be HH:MM:SS");
    }
    if h > 23 || mi > 59 || sec > 60 {
        return Err("no such time of day");
    }
    let mut at = 19;
    if s.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while s.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        if at == start {
            return Err("a fraction of a second needs digits");
        }
    }
    let offset = match s.get(at..) {
        Some(b"Z" | b"z") => 0,
        Some([sign @ (b'+' | b'-'), rest @ ..]) if rest.len() == 5 && rest[2] == b':' => {
            let (Some(oh), Some(om)) = (digits(rest, 0, 2), digits(rest, 3, 2)) else {
                return Err("the offset must be Z or ±HH:MM");
            };
            if oh > 23 || om > 59 {
                return Err("the offset must be Z or ±HH:MM");
            }
            let o = oh * 3600 + om * 60;
            if *sign == b'+' { o } else { -o }
        }
        _ => return Err("the date-time needs a time zone: Z or ±HH:MM"),
    };
    Ok(days * 86_400 + h * 3600 + mi * 60 + sec - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_end_at_the_end_of_their_day_utc() {
        assert_eq!(parse_expiry("1970-01-01"), Ok(86_400));
        assert_eq!(
            rfc3339(parse_expiry("2026-12-31").unwrap()),
            "2027-01-01T00:00:00Z"
        );
        assert_eq!(
            rfc3339(parse_expiry("2024-02-29").unwrap()),
            "2024-03-01T00:00:00Z"
        );
        assert_eq!(parse_expiry("2023-02-29"), Err("no such day"));
        assert_eq!(parse_expiry("2026-13-01"), Err("no such day"));
        assert_eq!(parse_expiry("2026-04-31"), Err("no such day"));
        assert_eq!(parse_expiry("2026-4-1"), Err("not a date"));
        assert_eq!(parse_expiry("tomorrow"), Err("not a date"));
        assert_eq!(parse_expiry(""), Err("not a date"));
        assert_eq!(parse_expiry("2026/12/31"), Err("not a date"));
    }

    #[test]
    fn rfc_3339_date_times() {
        let at = |s: &str| parse_expiry(s).map(rfc3339);
        assert_eq!(
            at("2026-12-31T18:00:00Z"),
            Ok("2026-12-31T18:00:00Z".into())
        );
        assert_eq!(
            at("2026-12-31t18:00:00z"),
            Ok("2026-12-31T18:00:00Z".into())
        );
        assert_eq!(
            at("2026-12-31 18:00:00Z"),
            Ok("2026-12-31T18:00:00Z".into())
        );
        assert_eq!(
            at("2026-06-30T12:00:00+02:00"),
            Ok("2026-06-30T10:00:00Z".into())
        );
        assert_eq!(
            at("2026-06-30T23:30:00-01:00"),
            Ok("2026-07-01T00:30:00Z".into())
        );
        assert_eq!(
            at("2026-06-30T12:00:00.250Z"),
            Ok("2026-06-30T12:00:00Z".into())
        );
        assert_eq!(
            parse_expiry("2026-06-30T12:00:00"),
            Err("the date-time needs a time zone: Z or ±HH:MM")
        );
        assert_eq!(
            parse_expiry("2026-06-30T12:00Z"),
            Err("the time must be HH:MM:SS")
        );
        assert_eq!(
            parse_expiry("2026-06-30T24:00:00Z"),
            Err("no such time of day")
        );
        assert_eq!(
            parse_expiry("2026-06-30T12:00:00.Z"),
            Err("a fraction of a second needs digits")
        );
        assert_eq!(
            parse_expiry("2026-06-30T12:00:00+2:00"),
            Err("the date-time needs a time zone: Z or ±HH:MM")
        );
        assert_eq!(
            parse_expiry("2026-06-30T12:00:00+24:00"),
            Err("the offset must be Z or ±HH:MM")
        );
        assert_eq!(
            parse_expiry("2026-06-30X12:00:00Z"),
            Err("not a date or an RFC 3339 date-time")
        );
    }

    #[test]
    fn days_agree_with_the_formatter() {
        for secs in [0i64, 951_782_400, 1_795_000_000, -86_400] {
            let day = secs.div_euclid(86_400);
            let text = rfc3339(secs);
            let b = text.as_bytes();
            let (y, m, d) = (
                digits(b, 0, 4).unwrap(),
                digits(b, 5, 2).unwrap(),
                digits(b, 8, 2).unwrap(),
            );
            assert_eq!(days_from_civil(y, m, d), day, "{text}");
        }
    }

    #[test]
    fn headers_and_shell_words() {
        assert_eq!(display_header("authorization"), "Authorization");
        assert_eq!(display_header("x-api-key"), "X-Api-Key");
        assert_eq!(shell_word(Path::new("my-gateway")), "my-gateway");
        assert_eq!(shell_word(Path::new("my gateway")), "'my gateway'");
        assert_eq!(shell_word(Path::new("it's")), r"'it'\''s'");
    }
}
