//! One module per subcommand.

pub mod build;
pub mod bundle;
pub mod bundle_verify;
pub mod completions;
pub mod doctor;
pub mod fmt;
pub mod init;
pub mod key;
pub mod pkg;
pub mod policy;
pub mod registry;
pub mod run;
pub mod store;
pub mod store_cache;
pub mod test;
pub mod vm;
