//! Filesystem attacks: outside the roots, `..`, symlinks, writes, hidden files, caps.

use crate::project::*;

#[test]
fn read_outside_the_roots_is_denied_in_process_and_by_the_kernel() {
    let p = Project::new();
    let pol = p.policy();
    let out = p.run(Flavor::Checked, &pol, &read(&p.s("ro/visible.txt")));
    assert_eq!(out.assert_ok().text(), "ok:visible");
    assert!(out.denials().is_empty());
    let out = p.run(Flavor::Checked, &pol, &read("ro/visible.txt"));
    assert_eq!(
        out.assert_ok().text(),
        "ok:visible",
        "relative paths start at the cwd"
    );

    for path in [
        "/etc/passwd".to_owned(),
        p.s("outside/secret.txt"),
        "outside/secret.txt".into(),
    ] {
        let out = p.run(Flavor::Checked, &pol, &read(&path));
        assert_eq!(out.assert_ok().text(), FS_POLICY_DENY, "{path}");
        assert_eq!(out.denied("os.fs.read_all_v1", "fs.read_roots"), path);
        let out = p.run(Flavor::KernelOnly, &pol, &read(&path));
        assert_eq!(
            out.assert_ok().text(),
            FS_NOT_FOUND,
            "{path}: not in the new root"
        );
        assert!(out.denials().is_empty(), "no in-process check ran");
        let out = p.run(Flavor::Checked, &pol, &input(b'R', &[path.as_bytes()]));
        assert_eq!(
            out.assert_ok().text(),
            errno(libc::ENOENT),
            "{path}: libc too"
        );
    }
    // read_file traps, after the denial line
    let out = p.run(Flavor::Checked, &pol, &input(b'f', &[b"/etc/passwd"]));
    assert_killed_by(&out, libc::SIGILL);
    assert!(
        out.stderr
            .ends_with("os.fs.read_file failed path=/etc/passwd code=60003 ptr=/read_file\n"),
        "{}",
        out.stderr
    );
    assert_eq!(
        out.denied("os.fs.read_file", "fs.read_roots"),
        "/etc/passwd"
    );
}

#[test]
fn dot_dot_cannot_leave_a_root() {
    let p = Project::new();
    let pol = p.policy();
    let sneaky = format!("{}/../outside/secret.txt", p.s("ro"));
    let out = p.run(Flavor::Checked, &pol, &read(&sneaky));
    assert_eq!(out.assert_ok().text(), FS_POLICY_DENY);
    assert_eq!(
        out.denied("os.fs.read_all_v1", "fs.read_roots"),
        sneaky,
        "openat2 RESOLVE_BENEATH: EXDEV"
    );
    let out = p.run(Flavor::KernelOnly, &pol, &read(&sneaky));
    assert_eq!(
        out.assert_ok().text(),
        FS_NOT_FOUND,
        "the kernel resolves `..` in the new root, where `outside` does not exist"
    );
    let out = p.run(Flavor::Checked, &pol, &input(b'R', &[sneaky.as_bytes()]));
    assert_eq!(out.assert_ok().text(), errno(libc::ENOENT), "libc too");
    // `..` that stays inside the root is fine
    fs_err::create_dir(p.path("ro/sub")).unwrap();
    let inside = format!("{}/sub/../visible.txt", p.s("ro"));
    assert_eq!(
        p.run(Flavor::Checked, &pol, &read(&inside)).text(),
        "ok:visible"
    );
}

#[test]
fn a_symlink_planted_in_a_read_root_cannot_leave_it() {
    let p = Project::new();
    symlink(p.path("outside/secret.txt"), p.path("ro/link")).unwrap();
    symlink("../outside/secret.txt", p.path("ro/rel-link")).unwrap();
    symlink("visible.txt", p.path("ro/good-link")).unwrap();
    let mut pol = p.policy();
    pol.allow_symlinks = true;
    for link in ["ro/link", "ro/rel-link"] {
        let out = p.run(
            Flavor::Checked,
            &pol,
            &input(b'r', &[p.s(link).as_bytes(), b"30"]),
        );
        assert_eq!(out.assert_ok().text(), FS_POLICY_DENY, "{link}");
        assert_eq!(out.denied("os.fs.read_all_v1", "fs.read_roots"), p.s(link));
        let out = p.run(
            Flavor::KernelOnly,
            &pol,
            &input(b'r', &[p.s(link).as_bytes(), b"30"]),
        );
        assert_eq!(
            out.assert_ok().text(),
            FS_NOT_FOUND,
            "{link}: the kernel follows the link in the new root, where its target does not exist"
        );
        let out = p.run(Flavor::Checked, &pol, &input(b'R', &[p.s(link).as_bytes()]));
        assert_eq!(
            out.assert_ok().text(),
            errno(libc::ENOENT),
            "{link}: libc too"
        );
    }
    let out = p.run(
        Flavor::Checked,
        &pol,
        &input(b'r', &[p.s("ro/good-link").as_bytes(), b"30"]),
    );
    assert_eq!(
        out.assert_ok().text(),
        "ok:visible",
        "a link inside the root works"
    );
    pol.allow_symlinks = false;
    let out = p.run(
        Flavor::Checked,
        &pol,
        &input(b'r', &[p.s("ro/good-link").as_bytes(), b"30"]),
    );
    assert_eq!(
        out.assert_ok().text(),
        "err:60009",
        "symlink_denied: the policy lowers the program's caps"
    );
    assert_eq!(
        out.denied("os.fs.read_all_v1", "fs.allow_symlinks"),
        p.s("ro/good-link")
    );
}

#[test]
fn writes_stay_in_write_roots() {
    let p = Project::new();
    let pol = p.policy();
    let ok = p.run(
        Flavor::Checked,
        &pol,
        &input(b'w', &[p.s("rw/out.txt").as_bytes(), b"data"]),
    );
    assert_eq!(
        ok.assert_ok().text(),
        "ok:4",
        "atomic write in a write root: {}",
        ok.stderr
    );
    assert_eq!(
        fs_err::read_to_string(p.path("rw/out.txt")).unwrap(),
        "data"
    );
    for (flavor, target, expect) in [
        (Flavor::Checked, "outside/pwned.txt", FS_POLICY_DENY),
        (Flavor::Checked, "ro/pwned.txt", FS_POLICY_DENY),
        // create_parents: `outside` would have to be made in the read-only new root (EROFS)
        (Flavor::KernelOnly, "outside/pwned.txt", FS_PERMISSION),
        // a read root is mounted read-only (EROFS), and Landlock grants no write in it
        (Flavor::KernelOnly, "ro/pwned.txt", FS_PERMISSION),
    ] {
        let out = p.run(flavor, &pol, &input(b'w', &[p.s(target).as_bytes(), b"x"]));
        assert_eq!(out.assert_ok().text(), expect, "{flavor:?} {target}");
        assert!(!p.path(target).exists(), "{target} must not exist");
        if flavor == Flavor::Checked {
            assert_eq!(
                out.denied("os.fs.write_all_v1", "fs.write_roots"),
                p.s(target)
            );
        }
    }
    let out = p.run(
        Flavor::Checked,
        &pol,
        &input(b'W', &[p.s("outside/raw.txt").as_bytes()]),
    );
    assert_eq!(
        out.assert_ok().text(),
        errno(libc::ENOENT),
        "`outside` is not in the new root"
    );
    assert!(!p.path("outside/raw.txt").exists());
    // a read root is mounted read-only
    let out = p.run(
        Flavor::Checked,
        &pol,
        &input(b'W', &[p.s("ro/raw.txt").as_bytes()]),
    );
    assert_eq!(out.assert_ok().text(), errno(libc::EROFS));
    assert!(!p.path("ro/raw.txt").exists());
    let out = p.run(
        Flavor::Checked,
        &pol,
        &input(b'W', &[p.s("ro/visible.txt").as_bytes()]),
    );
    assert_eq!(out.assert_ok().text(), errno(libc::EROFS));
    assert_eq!(
        fs_err::read_to_string(p.path("ro/visible.txt")).unwrap(),
        "visible"
    );
    // mkdir needs allow_mkdir, whoever asks
    let out = p.run(
        Flavor::Checked,
        &pol,
        &input(b'm', &[p.s("rw/newdir").as_bytes()]),
    );
    assert_eq!(out.assert_ok().text(), FS_POLICY_DENY);
    assert_eq!(
        out.denied("os.fs.mkdirs_v1", "fs.allow_mkdir"),
        p.s("rw/newdir")
    );
    let out = p.run(
        Flavor::KernelOnly,
        &pol,
        &input(b'm', &[p.s("rw/newdir").as_bytes()]),
    );
    assert_eq!(
        out.assert_ok().text(),
        FS_PERMISSION,
        "Landlock: no make_dir without allow_mkdir"
    );
    assert!(!p.path("rw/newdir").exists());
    for (dir, e, why) in [
        (
            "rw/newdir",
            libc::EACCES,
            "Landlock: no make_dir in a write root",
        ),
        ("ro/newdir", libc::EROFS, "a read root is read-only"),
        ("outside", libc::EROFS, "the new root itself is read-only"),
        (
            "outside/newdir",
            libc::ENOENT,
            "`outside` is not in the new root",
        ),
    ] {
        let out = p.run(Flavor::Checked, &pol, &input(b'Y', &[p.s(dir).as_bytes()]));
        assert_eq!(out.assert_ok().text(), errno(e), "libc mkdir {dir}: {why}");
    }
    assert!(!p.path("rw/newdir").exists() && !p.path("ro/newdir").exists());
    assert!(!p.path("outside/newdir").exists());
    // create_parents makes directories too: same rule
    let out = p.run(
        Flavor::Checked,
        &pol,
        &input(b'w', &[p.s("rw/a/b.txt").as_bytes(), b"x"]),
    );
    assert_eq!(out.assert_ok().text(), FS_POLICY_DENY);
    assert_eq!(
        out.denied("os.fs.write_all_v1", "fs.allow_mkdir"),
        p.s("rw/a/b.txt")
    );
    let mut pol = p.policy();
    pol.allow_mkdir = true;
    let out = p.run(
        Flavor::Checked,
        &pol,
        &input(b'w', &[p.s("rw/a/b/c.txt").as_bytes(), b"x"]),
    );
    assert_eq!(out.assert_ok().text(), "ok:1", "{}", out.stderr);
}

#[test]
fn the_kernel_caps_file_size_at_max_write_bytes() {
    let p = Project::new();
    let mut pol = p.policy();
    pol.max_write_bytes = 4096;
    let out = p.run(
        Flavor::Checked,
        &pol,
        &input(b'Z', &[p.s("rw/big.bin").as_bytes(), b"10000"]),
    );
    assert_eq!(
        out.assert_ok().text(),
        format!("wrote:4096 errno:{}", libc::EFBIG),
        "RLIMIT_FSIZE, with SIGXFSZ ignored"
    );
    assert_eq!(fs_err::metadata(p.path("rw/big.bin")).unwrap().len(), 4096);
    let out = p.run(Flavor::Checked, &pol, b"L");
    assert!(
        out.assert_ok().text().contains(" fsize:4096 "),
        "{}",
        out.text()
    );
}

#[test]
fn hidden_files_are_denied_and_the_kernel_hides_them_too() {
    let p = Project::new();
    fs_err::create_dir_all(p.path("ro/deep/er")).unwrap();
    fs_err::write(p.path("ro/deep/er/.token"), "t0ken").unwrap();
    fs_err::write(p.path("ro/deep/er/ok.txt"), "fine").unwrap();
    fs_err::create_dir_all(p.path("ro/clean/sub")).unwrap();
    fs_err::write(p.path("ro/clean/sub/f.txt"), "clean").unwrap();
    let pol = p.policy();
    let out = p.run(
        Flavor::Checked,
        &pol,
        &input(b'r', &[p.s("ro/.env").as_bytes(), b"29"]),
    );
    assert_eq!(out.assert_ok().text(), FS_POLICY_DENY);
    assert_eq!(
        out.denied("os.fs.read_all_v1", "fs.deny_hidden"),
        p.s("ro/.env")
    );
    for (path, expect) in [
        ("ro/.env", format!("errno:{}", libc::EACCES)),
        ("ro/deep/er/.token", format!("errno:{}", libc::EACCES)),
        ("ro/visible.txt", "ok:visible".to_owned()),
        ("ro/deep/er/ok.txt", "ok:fine".to_owned()),
        ("ro/clean/sub/f.txt", "ok:clean".to_owned()),
    ] {
        let out = p.run(Flavor::Checked, &pol, &input(b'R', &[p.s(path).as_bytes()]));
        assert_eq!(out.assert_ok().text(), expect, "libc read of {path}");
    }
    let out = p.run(
        Flavor::KernelOnly,
        &pol,
        &input(b'r', &[p.s("ro/.env").as_bytes(), b"29"]),
    );
    assert_eq!(
        out.assert_ok().text(),
        FS_PERMISSION,
        "the builtin without checks: Landlock still says no"
    );
    assert_eq!(
        out.sandbox()["hidden_in_process_only"],
        serde_json::json!([p.s("rw")]),
        "the read root is exact"
    );
    // listing shows the visible names only (and needs allow_walk)
    let out = p.run(
        Flavor::Checked,
        &pol,
        &input(b'l', &[p.s("ro").as_bytes(), b"1"]),
    );
    assert_eq!(out.assert_ok().text(), "ok:clean\ndeep\nvisible.txt\n");
    let mut no_walk = p.policy();
    no_walk.allow_walk = false;
    let out = p.run(
        Flavor::Checked,
        &no_walk,
        &input(b'l', &[p.s("ro").as_bytes(), b"0"]),
    );
    assert_eq!(out.assert_ok().text(), FS_POLICY_DENY);
    assert_eq!(
        out.denied("os.fs.list_dir_sorted_text_v1", "fs.allow_walk"),
        p.s("ro")
    );
}

#[test]
fn caps_are_ceilings_and_a_disabled_filesystem_says_so() {
    let p = Project::new();
    let mut pol = p.policy();
    pol.max_read_bytes = 3;
    let out = p.run(Flavor::Checked, &pol, &read(&p.s("ro/visible.txt")));
    assert_eq!(out.assert_ok().text(), "err:60006");
    assert_eq!(
        out.denied("os.fs.read_all_v1", "fs.max_read_bytes"),
        p.s("ro/visible.txt")
    );
    pol.fs_enabled = false;
    let out = p.run(Flavor::Checked, &pol, &read(&p.s("ro/visible.txt")));
    assert_eq!(out.assert_ok().text(), FS_DISABLED);
    assert_eq!(
        out.denied("os.fs.read_all_v1", "fs.enabled"),
        p.s("ro/visible.txt")
    );
    let out = p.run(Flavor::KernelOnly, &pol, &read(&p.s("ro/visible.txt")));
    assert_eq!(
        out.assert_ok().text(),
        FS_NOT_FOUND,
        "no root is mounted in the new root either"
    );
    let out = p.run(
        Flavor::Checked,
        &pol,
        &input(b'R', &[p.s("ro/visible.txt").as_bytes()]),
    );
    assert_eq!(out.assert_ok().text(), errno(libc::ENOENT), "libc too");
}

#[test]
fn an_oversized_read_root_is_granted_whole_and_reported() {
    let p = Project::new();
    let big = p.path("ro/big");
    fs_err::create_dir(&big).unwrap();
    for i in 0..8300 {
        fs_err::File::create(big.join(i.to_string())).unwrap();
    }
    let pol = p.policy();
    let out = p.run(
        Flavor::Checked,
        &pol,
        &input(b'R', &[p.s("ro/.env").as_bytes()]),
    );
    assert_eq!(
        out.assert_ok().text(),
        "ok:API_KEY=hunter2",
        "over the scan budget the kernel grants the root whole"
    );
    assert_eq!(
        out.sandbox()["hidden_in_process_only"],
        serde_json::json!([p.s("ro"), p.s("rw")]),
        "and the report says so"
    );
    let out = p.run(
        Flavor::Checked,
        &pol,
        &input(b'r', &[p.s("ro/.env").as_bytes(), b"29"]),
    );
    assert_eq!(
        out.assert_ok().text(),
        FS_POLICY_DENY,
        "the in-process check still holds"
    );
}

/// Unmounts what a test mounted, whatever the test's outcome.
struct MountGuard(std::path::PathBuf);

impl Drop for MountGuard {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_writable_mount_inside_a_read_root_is_read_only_in_the_new_root() {
    let p = Project::new();
    let inner = p.path("ro/inner");
    fs_err::create_dir(&inner).unwrap();
    let mounted = std::process::Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            "size=64k",
            "x07-test",
            p.s("ro/inner").as_str(),
        ])
        .status()
        .unwrap();
    assert!(mounted.success(), "mount a tmpfs (these tests run as root)");
    let _guard = MountGuard(inner.clone());
    fs_err::write(inner.join("host.txt"), "host").unwrap();

    let mount_of = |rel: &str| {
        let out = p.run(
            Flavor::KernelOnly,
            &p.policy(),
            &input(b'V', &[p.s(rel).as_bytes()]),
        );
        out.assert_ok().text()
    };
    assert_eq!(mount_of("rw"), "rw", "the probe tells a writable mount");
    assert_eq!(mount_of("ro"), "ro");
    assert_eq!(
        mount_of("ro/inner"),
        "ro",
        "the tmpfs inside the read root is writable in the new root"
    );
    // and nothing was written through it
    let out = p.run(
        Flavor::KernelOnly,
        &p.policy(),
        &input(b'W', &[p.s("ro/inner/pwned.txt").as_bytes()]),
    );
    assert!(
        out.assert_ok().text().starts_with("errno:"),
        "{}",
        out.text()
    );
    assert!(!inner.join("pwned.txt").exists());
}

#[test]
fn dev_holds_the_harmless_devices_only_even_under_a_root_at_dev() {
    let p = Project::new();
    let expected = "ok:fd\nfull\nnull\nrandom\nstderr\nstdin\nstdout\nurandom\nzero\n";
    // a root at /dev binds the host's /dev: a tmpfs of its own goes over it
    let dev = std::path::Path::new("/dev");
    let covered = TestPolicy::new(&[dev], &[&p.path("rw")]);
    let out = p.run(Flavor::Checked, &covered, &input(b'l', &[b"/dev", b"1"]));
    assert_eq!(out.assert_ok().text(), expected, "{}", out.stderr);
    for host_only in ["/dev/tty", "/dev/shm", "/dev/pts/ptmx"] {
        let out = p.run(
            Flavor::KernelOnly,
            &covered,
            &input(b'R', &[host_only.as_bytes()]),
        );
        assert_eq!(out.assert_ok().text(), errno(libc::ENOENT), "{host_only}");
    }
    // without one, /dev is a directory of the root's tmpfs, read-only with it
    let pol = p.policy();
    for dir in ["/dev", "/"] {
        let out = p.run(Flavor::KernelOnly, &pol, &input(b'V', &[dir.as_bytes()]));
        assert_eq!(out.assert_ok().text(), "ro", "{dir}");
    }
    let out = p.run(Flavor::KernelOnly, &pol, &input(b'Y', &[b"/dev/planted"]));
    assert_eq!(out.assert_ok().text(), errno(libc::EROFS));
    let out = p.run(Flavor::KernelOnly, &pol, &input(b'W', &[b"/dev/null"]));
    assert!(
        !out.assert_ok().text().starts_with("errno:"),
        "/dev/null stays writable: {}",
        out.text()
    );
}

#[test]
fn a_root_at_slash_is_refused_with_a_reason() {
    let p = Project::new();
    let whole = TestPolicy::new(&[std::path::Path::new("/")], &[&p.path("rw")]);
    let out = p.run(Flavor::Checked, &whole, &input(b'0', &[]));
    assert!(!out.status.success());
    assert!(
        out.stderr.contains("a root at / is not supported"),
        "{}",
        out.stderr
    );
}
