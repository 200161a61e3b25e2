//! The sparse index format shared by the registry server and client: the line schema tag, Cargo's
//! shard paths, and the dependency and signature records of a line (docs/internals/packages.md).

use serde::{Deserialize, Serialize};

use crate::PackageName;

/// Schema tag of an index line.
pub const INDEX_ENTRY_SCHEMA: &str = "x07.index-entry@0.2.0";

/// The index path of a package relative to the index root: `1/a`, `2/ab`, `3/a/abc`, `ab/cd/abcd…`.
pub fn shard_path(name: &PackageName) -> String {
    let n = name.as_str();
    match n.len() {
        1 => format!("1/{n}"),
        2 => format!("2/{n}"),
        3 => format!("3/{}/{n}", &n[..1]),
        _ => format!("{}/{}/{n}", &n[..2], &n[2..4]),
    }
}

/// A dependency requirement of a version (`meta.requires_packages`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexDep {
    /// The required package.
    pub name: PackageName,
    /// The version requirement (REQ grammar of docs/internals/packages.md).
    pub req: String,
}

/// The registry's signature on a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntrySignature {
    /// Always `ed25519`.
    pub kind: String,
    /// Id of the signing key (16 hex digits).
    pub key_id: String,
    /// The 64-byte signature, standard base64.
    pub sig: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_like_cargo() {
        let p = |n: &str| shard_path(&PackageName::new(n).unwrap());
        assert_eq!(p("a"), "1/a");
        assert_eq!(p("ab"), "2/ab");
        assert_eq!(p("abc"), "3/a/abc");
        assert_eq!(p("ext-net"), "ex/t-/ext-net");
    }
}
