//! Run policies at launch time: `x07 run`'s override flags merged into a base policy (a derived
//! policy file), and the choice of sandbox backend.

pub mod backend;
pub mod derive;
pub mod host_spec;
pub mod overrides;

pub use backend::{
    select_backend, BackendChoice, BackendError, BackendRequest, BackendSelection, ChoiceOrigin,
};
pub use derive::{derive_policy, DeriveError, DeriveRequest, DerivedPolicy, TOOLCHAIN_VERSION};
pub use overrides::{NormalizedOverrides, OverrideError, PolicyOverrides};
