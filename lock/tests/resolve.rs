//! The resolver on hand-built catalogs: diamonds, backtracking, yanks, pre-releases, toolchain
//! compatibility, locked preferences, module collisions, and conflict explanations.

mod common;

use common::*;
use x07_lock::{resolve, Catalog, Resolution, ResolveError};

fn solve(root: &[&str], catalog: &Catalog) -> Result<Resolution, ResolveError> {
    let tc = toolchain();
    resolve(&reqs(root), catalog, &options(&tc, None))
}

fn versions(r: &Resolution) -> Vec<String> {
    r.packages.iter().map(|(n, v)| format!("{n} {v}")).collect()
}

fn explanation(root: &[&str], catalog: &Catalog) -> String {
    match solve(root, catalog) {
        Err(ResolveError::Conflict { explanation }) => explanation,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[test]
fn diamond_picks_the_highest_version_both_sides_accept() {
    let c = catalog(&[
        ("ext-a", "1.0.0", &["ext-c@^1.1"]),
        ("ext-b", "1.0.0", &["ext-c@>=1.0.0, <1.3.0"]),
        ("ext-c", "1.0.0", &[]),
        ("ext-c", "1.1.0", &[]),
        ("ext-c", "1.2.0", &[]),
        ("ext-c", "1.3.0", &[]),
    ]);
    let r = solve(&["ext-a@^1", "ext-b@^1"], &c).unwrap();
    assert_eq!(versions(&r), ["ext-a 1.0.0", "ext-b 1.0.0", "ext-c 1.2.0"]);
    let a_edges = &r.edges[&name("ext-a")];
    assert_eq!(a_edges.len(), 1);
    assert_eq!(
        (
            a_edges[0].name.as_str(),
            a_edges[0].req.to_string(),
            a_edges[0].resolved.to_string()
        ),
        ("ext-c", "^1.1".into(), "1.2.0".into())
    );
    assert_eq!(
        r.root
            .iter()
            .map(|d| d.resolved.to_string())
            .collect::<Vec<_>>(),
        ["1.0.0", "1.0.0"]
    );
    assert!(r.edges[&name("ext-c")].is_empty());
    assert_eq!(
        solve(&[], &c).unwrap(),
        Resolution::default(),
        "no requirements, no packages"
    );
}

#[test]
fn backtracks_where_a_greedy_resolver_fails() {
    // Greedy "highest first" takes ext-a 2.0.0, which needs ext-c ^2, while ext-b (any version)
    // needs ext-c ^1. Only ext-a 1.0.0 works.
    let c = catalog(&[
        ("ext-a", "1.0.0", &["ext-c@^1"]),
        ("ext-a", "2.0.0", &["ext-c@^2"]),
        ("ext-b", "1.0.0", &["ext-c@^1"]),
        ("ext-c", "1.4.0", &[]),
        ("ext-c", "2.1.0", &[]),
    ]);
    let r = solve(&["ext-a@*", "ext-b@*"], &c).unwrap();
    assert_eq!(versions(&r), ["ext-a 1.0.0", "ext-b 1.0.0", "ext-c 1.4.0"]);

    // Deeper: the newest ext-x pulls in ext-y 2, whose only version needs an ext-z that does not exist.
    let c = catalog(&[
        ("ext-x", "1.0.0", &["ext-y@^1"]),
        ("ext-x", "1.1.0", &["ext-y@^2"]),
        ("ext-y", "1.0.0", &[]),
        ("ext-y", "2.0.0", &["ext-z@^9"]),
        ("ext-z", "1.0.0", &[]),
    ]);
    let r = solve(&["ext-x@^1"], &c).unwrap();
    assert_eq!(versions(&r), ["ext-x 1.0.0", "ext-y 1.0.0"]);
}

#[test]
fn yanked_versions_are_skipped_unless_locked() {
    let mut c = catalog(&[("ext-b", "1.0.0", &[])]);
    add(&mut c, "ext-b", "1.1.0", &[], |e| e.yanked = true);
    let tc = toolchain();
    let root = reqs(&["ext-b@^1"]);
    let fresh = resolve(&root, &c, &options(&tc, None)).unwrap();
    assert_eq!(versions(&fresh), ["ext-b 1.0.0"]);
    let lock = lock_of(&[("ext-b", "1.1.0")]);
    let kept = resolve(&root, &c, &options(&tc, Some(&lock))).unwrap();
    assert_eq!(
        versions(&kept),
        ["ext-b 1.1.0"],
        "a yanked version stays usable while it is locked"
    );

    let mut only_yanked = Catalog::new();
    add(&mut only_yanked, "ext-b", "1.1.0", &[], |e| e.yanked = true);
    let err = explanation(&["ext-b@^1"], &only_yanked);
    assert!(err.contains("1.1.0 is yanked"), "{err}");
}

#[test]
fn locked_versions_are_preferred_while_they_still_fit() {
    let c = catalog(&[
        ("ext-b", "1.0.0", &[]),
        ("ext-b", "1.2.0", &[]),
        ("ext-b", "2.0.0", &[]),
    ]);
    let tc = toolchain();
    let lock = lock_of(&[("ext-b", "1.0.0")]);
    let r = resolve(&reqs(&["ext-b@^1"]), &c, &options(&tc, Some(&lock))).unwrap();
    assert_eq!(versions(&r), ["ext-b 1.0.0"]);
    let r = resolve(&reqs(&["ext-b@^2"]), &c, &options(&tc, Some(&lock))).unwrap();
    assert_eq!(
        versions(&r),
        ["ext-b 2.0.0"],
        "a lock never holds a requirement back"
    );
}

#[test]
fn prereleases_only_when_named_or_asked_for() {
    let c = catalog(&[
        ("ext-b", "1.0.0", &[]),
        ("ext-b", "1.1.0-rc.1", &[]),
        ("ext-c", "2.1.0-beta.1", &[]),
        ("ext-a", "1.0.0", &["ext-c@^2"]),
    ]);
    let tc = toolchain();
    assert_eq!(
        versions(&solve(&["ext-b@^1"], &c).unwrap()),
        ["ext-b 1.0.0"]
    );
    assert_eq!(
        versions(&solve(&["ext-b@>=1.1.0-rc.1"], &c).unwrap()),
        ["ext-b 1.1.0-rc.1"]
    );
    let mut pre = options(&tc, None);
    pre.allow_prerelease = true;
    assert_eq!(
        versions(&resolve(&reqs(&["ext-b@^1"]), &c, &pre).unwrap()),
        ["ext-b 1.1.0-rc.1"]
    );
    // A dependency's plain requirement does not reach a pre-release either.
    let err = explanation(&["ext-a@^1"], &c);
    assert!(err.contains("no version of ext-c matches ^2"), "{err}");
    assert_eq!(
        versions(&resolve(&reqs(&["ext-a@^1"]), &c, &pre).unwrap()),
        ["ext-a 1.0.0", "ext-c 2.1.0-beta.1"]
    );
}

#[test]
fn versions_incompatible_with_the_toolchain_are_skipped() {
    let mut c = catalog(&[("ext-b", "1.0.0", &[])]);
    add(&mut c, "ext-b", "1.1.0", &[], |e| {
        e.x07c_compat = Some(req(">=0.3.0, <0.4.0"))
    });
    add(&mut c, "ext-b", "1.2.0", &[], |e| {
        e.x07c_compat = Some(req("^0.2"))
    });
    add(&mut c, "ext-b", "1.3.0", &[], |e| {
        e.x07c_compat = Some(req(">=0.1.0, <0.2.0"))
    });
    assert_eq!(
        versions(&solve(&["ext-b@^1"], &c).unwrap()),
        ["ext-b 1.2.0"]
    );
    let err = explanation(&["ext-b@>=1.3.0"], &c);
    assert!(
        err.contains("1.3.0 needs toolchain >=0.1.0, <0.2.0 (this is 0.2.0)"),
        "{err}"
    );
}

#[test]
fn a_module_provided_by_two_packages_is_an_error() {
    let mut c = Catalog::new();
    add(&mut c, "ext-a", "1.0.0", &[], |e| {
        e.modules = modules(&["ext.a", "std.net.http"])
    });
    add(&mut c, "ext-b", "1.0.0", &[], |e| {
        e.modules = modules(&["ext.b", "std.net.http"])
    });
    let err = solve(&["ext-a@^1", "ext-b@^1"], &c).unwrap_err();
    assert_eq!(
        err.to_string(),
        "module `std.net.http` is provided by both ext-a 1.0.0 and ext-b 1.0.0; remove one of the packages from the dependencies"
    );
}

#[test]
fn two_requirements_on_one_name_must_both_hold() {
    let c = catalog(&[
        ("ext-b", "1.0.0", &[]),
        ("ext-b", "1.5.0", &[]),
        ("ext-b", "1.9.0", &[]),
    ]);
    assert_eq!(
        versions(&solve(&["ext-b@^1", "ext-b@<1.6"], &c).unwrap()),
        ["ext-b 1.5.0"]
    );
}

#[test]
fn conflict_between_a_dependency_and_the_project() {
    let c = catalog(&[
        ("ext-a", "1.2.0", &["ext-b@^2"]),
        ("ext-b", "1.0.0", &[]),
        ("ext-b", "2.0.0", &[]),
    ]);
    insta::assert_snapshot!(explanation(&["ext-a@^1", "ext-b@^1"], &c));
}

#[test]
fn conflict_after_backtracking_through_every_version() {
    let c = catalog(&[
        ("ext-a", "1.0.0", &["ext-c@^1"]),
        ("ext-a", "1.1.0", &["ext-c@^2"]),
        ("ext-b", "1.0.0", &["ext-c@^3"]),
        ("ext-c", "1.0.0", &[]),
        ("ext-c", "2.0.0", &[]),
        ("ext-c", "3.0.0", &[]),
    ]);
    insta::assert_snapshot!(explanation(&["ext-a@^1", "ext-b@^1"], &c));
}

#[test]
fn conflict_over_yanked_incompatible_and_missing_packages() {
    let mut c = catalog(&[("ext-a", "1.0.0", &["ext-missing@^1"])]);
    add(&mut c, "ext-b", "1.0.0", &[], |e| e.yanked = true);
    add(&mut c, "ext-b", "1.1.0", &[], |e| {
        e.x07c_compat = Some(req(">=0.3.0"))
    });
    insta::assert_snapshot!("yanked_and_incompatible", explanation(&["ext-b@^1"], &c));
    insta::assert_snapshot!("missing_package", explanation(&["ext-a@^1"], &c));
}
