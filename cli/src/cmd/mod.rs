//! One module per subcommand.

pub mod build;
pub mod fmt;
pub mod init;
pub mod policy;
pub mod run;
pub mod store;
