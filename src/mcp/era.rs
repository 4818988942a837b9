//! The two MCP eras (D26) and the words of the 2026-07-28 wire that decide between them.
//!
//! A request belongs to the 2026-07-28 era when its `params._meta` names that revision (its
//! per-request envelope), or, for `server/discover`, by its method; otherwise to the session
//! era (2025-11-25 and earlier: `initialize`, `Mcp-Session-Id`).

/// The per-request-envelope revision (stateless, `server/discover`).
pub const MODERN_VERSION: &str = "2026-07-28";
/// Every modern revision the gateway serves.
pub const MODERN_VERSIONS: [&str; 1] = [MODERN_VERSION];
/// The handshake-era revisions (negotiated by `initialize`).
pub const SESSION_VERSIONS: [&str; 5] = [
    "2025-11-25",
    "2025-06-18",
    "2025-03-26",
    "2024-11-05",
    "2024-10-07",
];

/// `_meta` key of the protocol version a 2026-07-28 request is written in.
pub const PROTOCOL_VERSION_META_KEY: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key of the client's capabilities on a 2026-07-28 request (required with the version).
pub const CLIENT_CAPABILITIES_META_KEY: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key of a server's implementation info in a 2026-07-28 result (`server/discover`).
pub const SERVER_INFO_META_KEY: &str = "io.modelcontextprotocol/serverInfo";

/// The protocol-version header (both eras).
pub const PROTOCOL_VERSION_HEADER: &str = "mcp-protocol-version";
/// 2026-07-28: the JSON-RPC method, mirrored in a header for intermediaries.
pub const METHOD_HEADER: &str = "mcp-method";
/// 2026-07-28: the tool / prompt name or resource URI, mirrored in a header.
pub const NAME_HEADER: &str = "mcp-name";

/// The body field that `Mcp-Name` mirrors, for the methods that carry one.
pub fn name_field(method: &str) -> Option<&'static str> {
    match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        _ => None,
    }
}

/// Request methods of the session era that the 2026-07-28 revision removed: sent as 2026-07-28
/// they are answered `-32601` (HTTP 404). Methods the gateway does not know pass through.
pub const REMOVED_IN_MODERN: [&str; 7] = [
    "initialize",
    "ping",
    "logging/setLevel",
    "resources/subscribe",
    "resources/unsubscribe",
    "tasks/result",
    "tasks/list",
];

/// Which protocol era a request belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// 2025-11-25 and earlier: `initialize`, sessions, `-32042` connect-required (D5).
    Session,
    /// 2026-07-28: `server/discover`, per-request `_meta`, no session, `InputRequiredResult`.
    Modern,
}

pub fn is_modern_version(version: &str) -> bool {
    MODERN_VERSIONS.contains(&version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_bearing_methods_and_removed_methods() {
        assert_eq!(name_field("tools/call"), Some("name"));
        assert_eq!(name_field("resources/read"), Some("uri"));
        assert_eq!(name_field("tools/list"), None);
        assert!(REMOVED_IN_MODERN.contains(&"initialize"));
        assert!(!REMOVED_IN_MODERN.contains(&"tools/call"));
        assert!(is_modern_version("2026-07-28") && !is_modern_version("2025-11-25"));
    }
}
