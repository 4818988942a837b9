//! Local state of `mcpgw dev` (D9): the `Store` trait (SPEC §5.6) and SQLite behind it.
