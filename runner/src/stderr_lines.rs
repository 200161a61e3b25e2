//! Reading the child's stderr: the last stats JSON line (metrics) and the last other line (trap text).

use serde_json::{Map, Value};
use x07_spec::{DebugStats, MemStats, PolicyDenial, SandboxSummary, SchedStats};

/// The runtime's stats line, field by field; a field that is missing or malformed stays `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsLine {
    /// Every `*_calls` and size counter by name, in the order of the report.
    pub counters: [Option<u64>; COUNTER_NAMES.len()],
    /// Scheduler counters.
    pub sched_stats: Option<SchedStats>,
    /// Allocator counters.
    pub mem_stats: Option<MemStats>,
    /// Debug-build counters.
    pub debug_stats: Option<DebugStats>,
}

/// The flat numeric fields of the stats line, in report order.
pub const COUNTER_NAMES: [&str; 12] = [
    "fuel_used",
    "heap_used",
    "fs_read_file_calls",
    "fs_list_dir_calls",
    "rr_open_calls",
    "rr_close_calls",
    "rr_stats_calls",
    "rr_next_calls",
    "rr_next_miss_calls",
    "rr_append_calls",
    "kv_get_calls",
    "kv_set_calls",
];

impl StatsLine {
    /// The counter called `name` (one of [`COUNTER_NAMES`]).
    pub fn counter(&self, name: &str) -> Option<u64> {
        COUNTER_NAMES
            .iter()
            .position(|n| *n == name)
            .and_then(|i| self.counters[i])
    }

    fn from_object(map: Map<String, Value>) -> Self {
        let counters = COUNTER_NAMES.map(|name| map.get(name).and_then(Value::as_u64));
        let typed = |key: &str| map.get(key).cloned();
        Self {
            counters,
            sched_stats: typed("sched_stats").and_then(|v| serde_json::from_value(v).ok()),
            mem_stats: typed("mem_stats").and_then(|v| serde_json::from_value(v).ok()),
            debug_stats: typed("debug_stats").and_then(|v| serde_json::from_value(v).ok()),
        }
    }
}

fn lines_from_end(stderr: &[u8]) -> impl Iterator<Item = &[u8]> {
    stderr
        .rsplit(|b| *b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
}

fn as_json_object(line: &[u8]) -> Option<Map<String, Value>> {
    if line.first() != Some(&b'{') {
        return None;
    }
    match serde_json::from_slice(line) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// The last line that is a JSON object holding `fuel_used`.
pub fn find_stats_line(stderr: &[u8]) -> Option<StatsLine> {
    lines_from_end(stderr)
        .filter_map(as_json_object)
        .find(|map| map.contains_key("fuel_used"))
        .map(StatsLine::from_object)
}

/// The last non-empty line that is not a JSON object (the runtime's trap message), lossily decoded.
pub fn find_trap_line(stderr: &[u8]) -> Option<String> {
    lines_from_end(stderr)
        .find(|line| as_json_object(line).is_none())
        .map(|line| String::from_utf8_lossy(line).trim().to_string())
}

/// The sandbox runtime's start-up line `{"x07_sandbox":{...}}`, if it printed one.
pub fn find_sandbox_line(stderr: &[u8]) -> Option<SandboxSummary> {
    stderr
        .split(|b| *b == b'\n')
        .filter_map(as_json_object)
        .find_map(|mut map| map.remove("x07_sandbox"))
        .and_then(|v| serde_json::from_value(v).ok())
}

/// Every `{"x07_denial":{...}}` line in order, plus a synthetic entry for denials the runtime
/// dropped after its limit (`{"x07_denials_dropped":N}`).
pub fn find_denials(stderr: &[u8]) -> Vec<PolicyDenial> {
    let mut out = Vec::new();
    for mut map in stderr.split(|b| *b == b'\n').filter_map(as_json_object) {
        if let Some(d) = map
            .remove("x07_denial")
            .and_then(|v| serde_json::from_value::<PolicyDenial>(v).ok())
        {
            out.push(d);
        } else if let Some(n) = map.get("x07_denials_dropped").and_then(Value::as_u64) {
            out.push(PolicyDenial {
                op: "(more)".into(),
                target: format!("{n} further denials not listed"),
                rule: "-".into(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_last_stats_line_and_the_last_text_line() {
        let stderr = b"{\"fuel_used\":1}\nfirst\n{\"fuel_used\":7,\"heap_used\":9,\"mem_stats\":{\"x\":1}}\r\n{\"other\":1}\nview.get_u8 oob ptr=/solve/1\n\n";
        let stats = find_stats_line(stderr).unwrap();
        assert_eq!(
            (stats.counter("fuel_used"), stats.counter("heap_used")),
            (Some(7), Some(9))
        );
        assert_eq!(stats.counter("kv_get_calls"), None);
        assert_eq!(
            stats.mem_stats, None,
            "malformed mem_stats is dropped, not fatal"
        );
        assert_eq!(
            find_trap_line(stderr).as_deref(),
            Some("view.get_u8 oob ptr=/solve/1")
        );
        assert_eq!(find_stats_line(b"{\"fuel\":1}\n{not json\n"), None);
        assert_eq!(find_trap_line(b"{not json\n").as_deref(), Some("{not json"));
        assert_eq!(find_trap_line(b"{\"a\":1}\n \n"), None);
    }

    #[test]
    fn reads_sandbox_and_denial_lines() {
        let stderr = b"{\"x07_sandbox\":{\"backend\":\"os\",\"policy_digest\":\"sha256:00\",\"restrictions\":[\"env_cleared\",\"seccomp\"]}}\n\
{\"x07_denial\":{\"op\":\"os.fs.read_file\",\"target\":\"/etc/passwd\",\"rule\":\"fs.read_roots\"}}\n\
os.fs.read_file denied by policy path=/etc/passwd\n{\"x07_denials_dropped\":3}\n";
        let sb = find_sandbox_line(stderr).unwrap();
        assert_eq!((sb.backend.as_str(), sb.restrictions.len()), ("os", 2));
        let d = find_denials(stderr);
        assert_eq!(d.len(), 2);
        assert_eq!(
            (d[0].op.as_str(), d[0].rule.as_str()),
            ("os.fs.read_file", "fs.read_roots")
        );
        assert!(d[1].target.starts_with("3 further"));
        assert_eq!(
            find_trap_line(stderr).as_deref(),
            Some("os.fs.read_file denied by policy path=/etc/passwd")
        );
    }
}
