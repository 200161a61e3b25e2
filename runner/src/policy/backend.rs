//! Choosing the sandbox backend of a run: `--sandbox-backend auto|vm|os|none` (or
//! `X07_SANDBOX_BACKEND`), and `--i-accept-weaker-isolation` (or `X07_I_ACCEPT_WEAKER_ISOLATION`).
//! A flag wins over its environment variable. `auto` is `vm` for run-os-sandboxed and `none` for
//! run-os. The VM backend is not built yet, so a sandboxed run that resolves to it fails closed;
//! `os` and `none` are weaker than a VM and need the acceptance.

use std::fmt;
use std::str::FromStr;

use x07_spec::policy::blob::BlobBackend;
use x07_spec::report::SandboxBackend;
use x07_spec::World;

/// Environment variable naming the backend.
pub const ENV_BACKEND: &str = "X07_SANDBOX_BACKEND";
/// Environment variable accepting weaker isolation.
pub const ENV_ACCEPT_WEAKER: &str = "X07_I_ACCEPT_WEAKER_ISOLATION";

/// A backend as requested (before `auto` is resolved).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendChoice {
    /// `vm` for sandboxed runs, `none` for run-os.
    Auto,
    /// A virtual machine boundary.
    Vm,
    /// The host kernel's sandbox (alias `native`).
    Os,
    /// In-process checks only.
    None,
}

impl BackendChoice {
    /// The names accepted on the command line and in the environment (`native` is an alias of `os`).
    pub const NAMES: [&'static str; 5] = ["auto", "vm", "os", "native", "none"];

    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Vm => "vm",
            Self::Os => "os",
            Self::None => "none",
        }
    }
}

impl fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A backend name that is not one of [`BackendChoice::NAMES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown sandbox backend `{0}`; expected auto, vm, os (or native) or none")]
pub struct UnknownBackend(pub String);

impl FromStr for BackendChoice {
    type Err = UnknownBackend;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "vm" => Ok(Self::Vm),
            "os" | "native" => Ok(Self::Os),
            "none" => Ok(Self::None),
            _ => Err(UnknownBackend(s.to_string())),
        }
    }
}

/// Where the effective choice came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChoiceOrigin {
    /// `--sandbox-backend`.
    Flag,
    /// `X07_SANDBOX_BACKEND`.
    Env,
    /// Neither was given: `auto`.
    Default,
}

impl ChoiceOrigin {
    fn describe(self) -> &'static str {
        match self {
            Self::Flag => "from --sandbox-backend",
            Self::Env => "from X07_SANDBOX_BACKEND",
            Self::Default => "the default for run-os-sandboxed",
        }
    }
}

/// The inputs of the choice: the two flags and the two environment variables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackendRequest {
    /// `--sandbox-backend`, if given.
    pub flag_backend: Option<BackendChoice>,
    /// `--i-accept-weaker-isolation`.
    pub flag_accept_weaker: bool,
    /// `X07_SANDBOX_BACKEND`, if set.
    pub env_backend: Option<String>,
    /// `X07_I_ACCEPT_WEAKER_ISOLATION`, if set.
    pub env_accept_weaker: Option<String>,
}

impl BackendRequest {
    /// The flags plus this process's environment.
    pub fn from_process_env(flag_backend: Option<BackendChoice>, flag_accept_weaker: bool) -> Self {
        let var = |k| std::env::var_os(k).map(|v| v.to_string_lossy().into_owned());
        Self {
            flag_backend,
            flag_accept_weaker,
            env_backend: var(ENV_BACKEND),
            env_accept_weaker: var(ENV_ACCEPT_WEAKER),
        }
    }
}

/// The backend a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackendSelection {
    /// The effective backend (`None` for fixture worlds).
    pub backend: SandboxBackend,
    /// Whether the user accepted isolation weaker than a VM.
    pub weaker_isolation_accepted: bool,
    /// Where the choice came from.
    pub origin: ChoiceOrigin,
}

impl BackendSelection {
    /// The backend code a policy blob carries (`vm`: os, applied by the launcher in the guest).
    pub fn blob_backend(&self) -> Option<BlobBackend> {
        match self.backend {
            // inside the guest the trusted launcher applies the os layer too
            SandboxBackend::Os | SandboxBackend::Vm => Some(BlobBackend::Os),
            SandboxBackend::None => Some(BlobBackend::None),
        }
    }
}

/// Why no backend can be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The sandboxed run resolved to the VM backend, which does not exist yet.
    #[error("the VM sandbox backend is not built yet; use `--sandbox-backend os --i-accept-weaker-isolation` (or X07_SANDBOX_BACKEND=os X07_I_ACCEPT_WEAKER_ISOLATION=1)")]
    VmNotBuilt {
        /// Where `vm` came from.
        origin: ChoiceOrigin,
    },
    /// `os` or `none` for a sandboxed run without accepting weaker isolation.
    #[error("sandbox backend `{backend}` ({}) isolates less than a VM; pass --i-accept-weaker-isolation (or set X07_I_ACCEPT_WEAKER_ISOLATION=1) to run with it", .origin.describe())]
    WeakerNotAccepted {
        /// The backend.
        backend: BackendChoice,
        /// Where it came from.
        origin: ChoiceOrigin,
    },
    /// `X07_SANDBOX_BACKEND` holds something else.
    #[error("{ENV_BACKEND}=`{0}` is not a sandbox backend; use auto, vm, os (or native) or none, or unset it")]
    BadEnvBackend(String),
    /// `X07_I_ACCEPT_WEAKER_ISOLATION` holds something else.
    #[error("{ENV_ACCEPT_WEAKER}=`{0}` is not a yes/no value; use 1/0, true/false or yes/no, or unset it")]
    BadEnvAccept(String),
    /// Backend flags for a world that the host runner runs.
    #[error("--sandbox-backend and --i-accept-weaker-isolation apply to run-os and run-os-sandboxed only, not to {0}")]
    NotAnOsWorld(World),
    /// `vm` for a run-os program.
    #[error("the vm sandbox backend ({}) needs world run-os-sandboxed; run-os programs run without a sandbox", .origin.describe())]
    VmForRunOs {
        /// Where `vm` came from.
        origin: ChoiceOrigin,
    },
}

impl BackendError {
    /// The diagnostic code (docs/diagnostics.md).
    pub fn code(&self) -> &'static str {
        match self {
            Self::VmNotBuilt { .. } => "X07-SANDBOX-0001",
            Self::WeakerNotAccepted { .. } => "X07-SANDBOX-0002",
            Self::BadEnvBackend(_) | Self::BadEnvAccept(_) => "X07-SANDBOX-0003",
            Self::NotAnOsWorld(_) | Self::VmForRunOs { .. } => "X07-SANDBOX-0004",
        }
    }

    /// The exit code of `x07 run` (always 2: a setup error).
    pub fn exit_code(&self) -> u8 {
        2
    }
}

fn parse_yes_no(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" => Some(true),
        "0" | "false" | "no" | "" => Some(false),
        _ => None,
    }
}

/// Resolves the backend for a program of `world`.
pub fn select_backend(
    world: World,
    req: &BackendRequest,
) -> Result<BackendSelection, BackendError> {
    if !matches!(world, World::RunOs | World::RunOsSandboxed) {
        if req.flag_backend.is_some() || req.flag_accept_weaker {
            return Err(BackendError::NotAnOsWorld(world));
        }
        return Ok(BackendSelection {
            backend: SandboxBackend::None,
            weaker_isolation_accepted: false,
            origin: ChoiceOrigin::Default,
        });
    }
    let env_backend = req.env_backend.as_deref().filter(|v| !v.trim().is_empty());
    let (choice, origin) = match (req.flag_backend, env_backend) {
        (Some(choice), _) => (choice, ChoiceOrigin::Flag),
        (None, Some(text)) => (
            text.parse()
                .map_err(|_| BackendError::BadEnvBackend(text.to_string()))?,
            ChoiceOrigin::Env,
        ),
        (None, None) => (BackendChoice::Auto, ChoiceOrigin::Default),
    };
    let accepted = req.flag_accept_weaker
        || match req.env_accept_weaker.as_deref() {
            None => false,
            Some(text) => {
                parse_yes_no(text).ok_or_else(|| BackendError::BadEnvAccept(text.to_string()))?
            }
        };
    let backend = if world == World::RunOs {
        match choice {
            BackendChoice::Vm => return Err(BackendError::VmForRunOs { origin }),
            BackendChoice::Os => SandboxBackend::Os,
            BackendChoice::Auto | BackendChoice::None => SandboxBackend::None,
        }
    } else {
        match choice {
            // the caller runs it in a guest when x07's guest image is there, and fails closed
            // (naming `x07 vm image build`) when it is not
            BackendChoice::Auto | BackendChoice::Vm => SandboxBackend::Vm,
            BackendChoice::Os | BackendChoice::None if !accepted => {
                return Err(BackendError::WeakerNotAccepted {
                    backend: choice,
                    origin,
                })
            }
            BackendChoice::Os => SandboxBackend::Os,
            BackendChoice::None => SandboxBackend::None,
        }
    };
    Ok(BackendSelection {
        backend,
        weaker_isolation_accepted: accepted,
        origin,
    })
}
