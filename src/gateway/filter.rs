//! The capability filter (SPEC §7.2): allow-lists applied to MCP requests and list responses.

// TEMPORARY interface stub, replaced by the real filter (helper-filter branch).
use crate::config::policies::capability_filter::CapabilityFilter;

#[derive(Debug, Clone, Default)]
pub struct Caller;
impl Caller {
    pub fn from_user(_f: &CapabilityFilter, _user: Option<&serde_json::Value>) -> Self {
        Caller
    }
}
#[derive(Debug, Clone, Default)]
pub struct ResponsePlan;
impl ResponsePlan {
    pub fn has_lists(&self) -> bool {
        false
    }
}
pub enum RequestVerdict {
    Forward(ResponsePlan),
    Block(Vec<u8>),
}
pub fn inspect_request(_f: &CapabilityFilter, _body: &[u8], _c: &Caller) -> RequestVerdict {
    RequestVerdict::Forward(ResponsePlan)
}
pub fn filter_response(
    _f: &CapabilityFilter,
    _p: &ResponsePlan,
    _c: &Caller,
    _ct: &str,
    _body: &[u8],
) -> Option<Vec<u8>> {
    None
}
