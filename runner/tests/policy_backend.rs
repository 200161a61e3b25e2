//! Sandbox backend selection: flag over environment over `auto`, `auto` = vm for the sandboxed
//! world (not built yet: fails closed), `os`/`none` only with the weaker-isolation acceptance.

use x07_runner::policy::backend::{ENV_ACCEPT_WEAKER, ENV_BACKEND};
use x07_runner::policy::{
    select_backend, BackendChoice, BackendError, BackendRequest, ChoiceOrigin,
};
use x07_spec::policy::blob::BlobBackend;
use x07_spec::report::SandboxBackend;
use x07_spec::World;

fn req(
    flag: Option<&str>,
    accept: bool,
    env: Option<&str>,
    env_accept: Option<&str>,
) -> BackendRequest {
    BackendRequest {
        flag_backend: flag.map(|f| f.parse().unwrap()),
        flag_accept_weaker: accept,
        env_backend: env.map(str::to_string),
        env_accept_weaker: env_accept.map(str::to_string),
    }
}

fn sandboxed(r: &BackendRequest) -> Result<(SandboxBackend, bool, ChoiceOrigin), BackendError> {
    select_backend(World::RunOsSandboxed, r)
        .map(|s| (s.backend, s.weaker_isolation_accepted, s.origin))
}

#[test]
fn auto_and_vm_select_the_vm_backend_from_each_origin() {
    for (r, origin) in [
        (req(None, false, None, None), ChoiceOrigin::Default),
        (req(Some("auto"), true, None, None), ChoiceOrigin::Flag),
        (req(Some("vm"), true, None, Some("1")), ChoiceOrigin::Flag),
        (req(None, true, Some("vm"), None), ChoiceOrigin::Env),
        (req(None, false, Some(" AUTO "), None), ChoiceOrigin::Env),
        (req(None, false, Some(""), None), ChoiceOrigin::Default),
    ] {
        let (backend, _, got_origin) = sandboxed(&r).unwrap();
        assert_eq!((backend, got_origin), (SandboxBackend::Vm, origin), "{r:?}");
    }
}

#[test]
fn os_and_none_need_the_acceptance() {
    for backend in ["os", "native", "none"] {
        let err = sandboxed(&req(Some(backend), false, None, None)).unwrap_err();
        assert_eq!((err.code(), err.exit_code()), ("X07-SANDBOX-0002", 2));
        let text = err.to_string();
        assert!(
            text.contains("--i-accept-weaker-isolation")
                && text.contains("X07_I_ACCEPT_WEAKER_ISOLATION=1"),
            "{text}"
        );
        assert!(text.contains("from --sandbox-backend"), "{text}");
    }
    assert_eq!(
        sandboxed(&req(Some("os"), true, None, None)).unwrap(),
        (SandboxBackend::Os, true, ChoiceOrigin::Flag)
    );
    let os = select_backend(World::RunOsSandboxed, &req(Some("os"), true, None, None)).unwrap();
    assert_eq!(os.blob_backend(), Some(BlobBackend::Os));
    let none = select_backend(World::RunOsSandboxed, &req(Some("none"), true, None, None)).unwrap();
    assert_eq!(none.blob_backend(), Some(BlobBackend::None));
    assert_eq!(
        sandboxed(&req(Some("native"), true, None, None)).unwrap().0,
        SandboxBackend::Os
    );
    assert_eq!(
        sandboxed(&req(Some("none"), true, None, None)).unwrap().0,
        SandboxBackend::None
    );
    for yes in ["1", "true", "TRUE", "yes", " Yes "] {
        assert_eq!(
            sandboxed(&req(Some("os"), false, None, Some(yes))).unwrap(),
            (SandboxBackend::Os, true, ChoiceOrigin::Flag),
            "{yes}"
        );
    }
    for no in ["0", "false", "no", "NO", ""] {
        assert!(
            matches!(
                sandboxed(&req(Some("os"), false, None, Some(no))),
                Err(BackendError::WeakerNotAccepted { .. })
            ),
            "{no}"
        );
    }
    let err = sandboxed(&req(Some("os"), false, None, Some("maybe"))).unwrap_err();
    assert_eq!(err.code(), "X07-SANDBOX-0003");
    assert!(
        err.to_string()
            .contains("X07_I_ACCEPT_WEAKER_ISOLATION=`maybe`"),
        "{err}"
    );
    // The flag accepts even when the environment says no, and never reads a bad value.
    assert!(
        sandboxed(&req(Some("os"), true, None, Some("maybe")))
            .unwrap()
            .1
    );
    assert!(
        sandboxed(&req(Some("os"), true, None, Some("0")))
            .unwrap()
            .1
    );
}

/// The walkthrough's legacy mode: both settings from the environment.
#[test]
fn the_environment_alone_selects_os_with_acceptance() {
    assert_eq!(
        sandboxed(&req(None, false, Some("os"), Some("1"))).unwrap(),
        (SandboxBackend::Os, true, ChoiceOrigin::Env)
    );
    let err = sandboxed(&req(None, false, Some("os"), None)).unwrap_err();
    assert_eq!(
        err,
        BackendError::WeakerNotAccepted {
            backend: BackendChoice::Os,
            origin: ChoiceOrigin::Env
        }
    );
    assert!(
        err.to_string().contains("from X07_SANDBOX_BACKEND"),
        "{err}"
    );
    let err = sandboxed(&req(None, true, Some("docker"), None)).unwrap_err();
    assert_eq!(err.code(), "X07-SANDBOX-0003");
    assert!(
        err.to_string().contains("X07_SANDBOX_BACKEND=`docker`"),
        "{err}"
    );
}

#[test]
fn the_flag_wins_over_the_environment() {
    assert_eq!(
        sandboxed(&req(Some("vm"), true, Some("os"), Some("1"))).unwrap(),
        (SandboxBackend::Vm, true, ChoiceOrigin::Flag)
    );
    assert_eq!(
        sandboxed(&req(Some("os"), true, Some("vm"), None)).unwrap(),
        (SandboxBackend::Os, true, ChoiceOrigin::Flag)
    );
    // A bad environment value is not even read when the flag is given.
    assert_eq!(
        sandboxed(&req(Some("none"), true, Some("docker"), None))
            .unwrap()
            .0,
        SandboxBackend::None
    );
}

#[test]
fn run_os_needs_no_acceptance_and_refuses_vm() {
    let run_os = |r: &BackendRequest| select_backend(World::RunOs, r);
    assert_eq!(
        run_os(&req(None, false, None, None)).unwrap().backend,
        SandboxBackend::None
    );
    assert_eq!(
        run_os(&req(Some("auto"), false, None, None))
            .unwrap()
            .backend,
        SandboxBackend::None
    );
    assert_eq!(
        run_os(&req(Some("os"), false, None, None)).unwrap().backend,
        SandboxBackend::Os
    );
    assert_eq!(
        run_os(&req(None, false, Some("none"), None))
            .unwrap()
            .backend,
        SandboxBackend::None
    );
    let err = run_os(&req(Some("vm"), true, None, None)).unwrap_err();
    assert_eq!((err.code(), err.exit_code()), ("X07-SANDBOX-0004", 2));
    assert!(
        err.to_string().contains("needs world run-os-sandboxed"),
        "{err}"
    );
    assert!(run_os(&req(None, false, Some("vm"), None)).is_err());
}

#[test]
fn fixture_worlds_refuse_the_flags_and_ignore_the_environment() {
    let err = select_backend(World::SolvePure, &req(Some("os"), false, None, None)).unwrap_err();
    assert_eq!(err, BackendError::NotAnOsWorld(World::SolvePure));
    assert_eq!(err.code(), "X07-SANDBOX-0004");
    assert!(select_backend(World::SolveFs, &req(None, true, None, None)).is_err());
    let s = select_backend(
        World::SolvePure,
        &req(None, false, Some("vm"), Some("garbage")),
    )
    .unwrap();
    assert_eq!(s.backend, SandboxBackend::None);
}

#[test]
fn names_parse_and_the_process_environment_is_read() {
    assert_eq!(
        BackendChoice::NAMES.map(|n| n.parse::<BackendChoice>().unwrap().as_str()),
        ["auto", "vm", "os", "os", "none"]
    );
    let err = "docker".parse::<BackendChoice>().unwrap_err();
    assert!(
        err.to_string().contains("unknown sandbox backend `docker`"),
        "{err}"
    );
    // This is the only test in this binary that touches these two variables.
    std::env::set_var(ENV_BACKEND, "os");
    std::env::set_var(ENV_ACCEPT_WEAKER, "yes");
    let r = BackendRequest::from_process_env(None, false);
    std::env::remove_var(ENV_BACKEND);
    std::env::remove_var(ENV_ACCEPT_WEAKER);
    assert_eq!(r.env_backend.as_deref(), Some("os"));
    assert_eq!(r.env_accept_weaker.as_deref(), Some("yes"));
    assert_eq!(
        sandboxed(&r).unwrap(),
        (SandboxBackend::Os, true, ChoiceOrigin::Env)
    );
}
