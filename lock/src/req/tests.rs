use super::*;

fn v(s: &str) -> Version {
    Version::parse(s).unwrap()
}

fn req(s: &str) -> VersionReq {
    VersionReq::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

/// Which of `versions` the requirement matches without asking for pre-releases.
fn matching(r: &str, versions: &[&str]) -> Vec<String> {
    let r = req(r);
    versions
        .iter()
        .filter(|s| r.matches(&v(s), false))
        .map(|s| s.to_string())
        .collect()
}

const LADDER: &[&str] = &[
    "0.0.3",
    "0.0.4",
    "0.1.0",
    "0.2.0",
    "0.2.3",
    "0.2.9",
    "0.3.0",
    "1.0.0",
    "1.2.0",
    "1.2.3",
    "1.2.9",
    "1.3.0",
    "1.9.9",
    "2.0.0",
    "2.0.0-rc.1",
    "3.1.0",
];

#[test]
fn caret_tilde_wildcard_and_partial_forms_match_like_cargo() {
    let cases: &[(&str, &[&str])] = &[
        ("^1.2.3", &["1.2.3", "1.2.9", "1.3.0", "1.9.9"]),
        ("^1.2", &["1.2.0", "1.2.3", "1.2.9", "1.3.0", "1.9.9"]),
        (
            "^1",
            &["1.0.0", "1.2.0", "1.2.3", "1.2.9", "1.3.0", "1.9.9"],
        ),
        ("^0.2.3", &["0.2.3", "0.2.9"]),
        ("^0.2", &["0.2.0", "0.2.3", "0.2.9"]),
        ("^0.0.3", &["0.0.3"]),
        ("^0.0", &["0.0.3", "0.0.4"]),
        (
            "^0",
            &[
                "0.0.3", "0.0.4", "0.1.0", "0.2.0", "0.2.3", "0.2.9", "0.3.0",
            ],
        ),
        ("~1.2.3", &["1.2.3", "1.2.9"]),
        ("~1.2", &["1.2.0", "1.2.3", "1.2.9"]),
        (
            "~1",
            &["1.0.0", "1.2.0", "1.2.3", "1.2.9", "1.3.0", "1.9.9"],
        ),
        (
            "1.*",
            &["1.0.0", "1.2.0", "1.2.3", "1.2.9", "1.3.0", "1.9.9"],
        ),
        ("1.2.*", &["1.2.0", "1.2.3", "1.2.9"]),
        ("1.2.3", &["1.2.3"]),
        ("=1.2", &["1.2.0", "1.2.3", "1.2.9"]),
        (">1.2.3", &["1.2.9", "1.3.0", "1.9.9", "2.0.0", "3.1.0"]),
        (">1.2", &["1.3.0", "1.9.9", "2.0.0", "3.1.0"]),
        (
            "<=1.2",
            &[
                "0.0.3", "0.0.4", "0.1.0", "0.2.0", "0.2.3", "0.2.9", "0.3.0", "1.0.0", "1.2.0",
                "1.2.3", "1.2.9",
            ],
        ),
        (">=0.2.2, <0.3.0", &["0.2.3", "0.2.9"]),
        (">=0.2.2 <0.3.0", &["0.2.3", "0.2.9"]),
        (">= 1.2.3 , < 1.3", &["1.2.3", "1.2.9"]),
        (">=1, <1", &[]),
    ];
    for (r, expected) in cases {
        assert_eq!(matching(r, LADDER), *expected, "requirement {r}");
    }
    assert_eq!(
        matching("*", LADDER).len(),
        LADDER.len() - 1,
        "`*` leaves out the pre-release"
    );
}

#[test]
fn prereleases_match_only_when_named_for_the_same_release_or_asked_for() {
    let rc = v("2.0.0-rc.1");
    assert!(!req("^1").matches(&v("1.5.0-beta"), false));
    assert!(!req(">=1.0.0").matches(&rc, false));
    assert!(
        req(">=1.0.0").matches(&rc, true),
        "asked for: pre-releases are ordinary versions"
    );
    assert!(
        req(">=2.0.0-rc.0").matches(&rc, false),
        "names a pre-release of 2.0.0"
    );
    assert!(req("=2.0.0-rc.1").matches(&rc, false));
    assert!(
        !req(">=1.9.0-rc.0").matches(&rc, false),
        "names a pre-release of another release"
    );
    assert!(req("^2.0.0-rc.1").matches(&v("2.0.0"), false));
    assert!(req("^2.0.0-rc.1").matches(&v("2.0.0-rc.2"), false));
    assert!(!req("^2.0.0-rc.1").matches(&v("2.1.0-rc.1"), false));
    // Derived upper bounds stop before the next release's pre-releases even when asked for them.
    assert!(!req("^1").matches(&rc, true));
    assert!(!req("1.*").matches(&rc, true));
    assert!(!req("<=1.9").matches(&rc, true));
    // An explicit `<2.0.0` is plain precedence: 2.0.0-rc.1 sorts below 2.0.0.
    assert!(req("<2.0.0").matches(&rc, true));
    // Toolchain compatibility is checked by precedence only.
    assert!(req(">=0.1.0, <0.2.0").contains_by_precedence(&v("0.1.5-dev")));
}

#[test]
fn build_metadata_is_ignored_by_matching_and_by_ranges() {
    let built = v("1.2.3+linux.7");
    for r in ["=1.2.3", "1.2.3", "<=1.2.3", ">=1.2.3", "^1.2.3", "~1.2"] {
        assert!(req(r).matches(&built, false), "{r}");
        assert!(req(r).to_ranges().contains(&built), "{r} as ranges");
    }
    for r in [">1.2.3", "<1.2.3"] {
        assert!(!req(r).matches(&built, false), "{r}");
        assert!(!req(r).to_ranges().contains(&built), "{r} as ranges");
    }
}

#[test]
fn ranges_agree_with_matching_on_every_version_of_the_ladder() {
    let reqs = [
        "^1.2.3",
        "^0.2",
        "~1",
        "1.2.*",
        "*",
        ">1.2",
        "<=1.2",
        ">=0.2.2, <0.3.0",
        "=1.2",
        "^0.0.3",
        ">=2.0.0-rc.1",
    ];
    for r in reqs {
        let parsed = req(r);
        let ranges = parsed.to_ranges();
        for s in LADDER {
            assert_eq!(
                ranges.contains(&v(s)),
                parsed.matches(&v(s), true),
                "{r} on {s}"
            );
        }
    }
    assert_eq!(req("^1.2").to_ranges().to_string(), ">=1.2.0, <2.0.0-0");
    assert_eq!(req("<=1.2.3").to_ranges().to_string(), "<1.2.4-0");
}

#[test]
fn display_is_canonical_and_parses_back_to_the_same_requirement() {
    let cases = [
        ("1.2.3", "=1.2.3"),
        (">= 0.2.2   <0.3.0", ">=0.2.2, <0.3.0"),
        ("^1.2,~0.1", "^1.2, ~0.1"),
        ("*", "*"),
        ("1.*", "1.*"),
        ("1.2.*", "1.2.*"),
        ("=1.0.0-rc.1", "=1.0.0-rc.1"),
        ("^0", "^0"),
        ("<2", "<2"),
    ];
    for (input, canonical) in cases {
        let parsed = req(input);
        assert_eq!(parsed.to_string(), canonical);
        assert_eq!(req(canonical), parsed);
    }
    assert_eq!(VersionReq::any().to_string(), "*");
    assert_eq!(
        VersionReq::exact(&v("1.0.0-rc.1")).to_string(),
        "=1.0.0-rc.1"
    );
    let json = serde_json::to_string(&req(">=1, <2")).unwrap();
    assert_eq!(json, "\">=1, <2\"");
    assert_eq!(
        serde_json::from_str::<VersionReq>(&json).unwrap(),
        req(">=1, <2")
    );
}

#[test]
fn errors_name_the_requirement_and_the_problem() {
    let cases = [
        ("", "requirement ``: it is empty; write `*` to accept any version"),
        (" , ", "requirement ` , `: it is empty"),
        ("^1 || ^2", "requirement `^1 || ^2`: `||` is not supported"),
        (">=", "requirement `>=`: operator `>=` must be followed by a version"),
        ("1.x", "requirement `1.x`: `1.x` is not a version: a part is not a number"),
        ("01.2", "requirement `01.2`: `01.2` is not a version: a number has a leading zero"),
        ("1.2.3.4", "requirement `1.2.3.4`: `1.2.3.4` is not a version: it has more than three numbers"),
        ("1.2-rc.1", "requirement `1.2-rc.1`: `1.2-rc.1` is not a version: a pre-release needs all of MAJOR.MINOR.PATCH"),
        ("1.0.0-rc..1", "requirement `1.0.0-rc..1`: `1.0.0-rc..1` is not a version: the pre-release part"),
        ("1.0.0-01", "requirement `1.0.0-01`: `1.0.0-01` is not a version: the pre-release part"),
        (">=1.*", "requirement `>=1.*`: `>=1.*` misuses `*`"),
        ("*.1", "requirement `*.1`: `*.1` misuses `*`"),
        ("1.0.0+build", "requirement `1.0.0+build`: `1.0.0+build` carries build metadata"),
        ("v1.0.0", "requirement `v1.0.0`: `v1.0.0` is not a version: a part is not a number"),
        ("1.", "requirement `1.`: `1.` is not a version: a number is missing"),
    ];
    for (input, expected) in cases {
        let err = VersionReq::parse(input).unwrap_err().to_string();
        assert!(
            err.starts_with(expected),
            "`{input}`: expected `{expected}`, got `{err}`"
        );
    }
}

#[test]
fn package_requirements_parse_name_and_requirement() {
    let r = PackageReq::parse("ext-net@>=0.1.0 <0.2.0").unwrap();
    assert_eq!(r.name.as_str(), "ext-net");
    assert_eq!(r.to_string(), "ext-net@>=0.1.0, <0.2.0");
    assert_eq!(
        PackageReq::parse("ext-net@0.1.6").unwrap().req,
        req("=0.1.6")
    );
    assert!(PackageReq::parse("ext-net")
        .unwrap_err()
        .to_string()
        .contains("must be written NAME@REQ"));
    assert!(PackageReq::parse("Ext@1")
        .unwrap_err()
        .to_string()
        .starts_with("dependency `Ext@1`: package name `Ext`"));
    assert!(PackageReq::parse("ext@")
        .unwrap_err()
        .to_string()
        .contains("requirement ``: it is empty"));
}

#[test]
fn manifest_requirements_convert() {
    let from_manifest =
        x07_spec::package::PackageRequirement::parse("ext-net@>=0.1.0 <0.2.0").unwrap();
    assert_eq!(
        PackageReq::try_from(&from_manifest).unwrap(),
        PackageReq::parse("ext-net@>=0.1.0, <0.2.0").unwrap()
    );
    let bad = x07_spec::package::PackageRequirement::parse("ext-net@1.0.0+b").unwrap();
    assert!(PackageReq::try_from(&bad)
        .unwrap_err()
        .to_string()
        .contains("carries build metadata"));
}
