//! Which Debian package provides the development files of a native library, so that a missing
//! header or library is reported with the command that installs it (x07 doctor, build errors).

/// Known libraries: `-l` name, a header that proves its development files, the Debian package.
const KNOWN: &[(&str, &str, &str)] = &[
    ("curl", "curl/curl.h", "libcurl4-openssl-dev"),
    ("ssl", "openssl/ssl.h", "libssl-dev"),
    ("crypto", "openssl/crypto.h", "libssl-dev"),
    ("z", "zlib.h", "zlib1g-dev"),
    ("sqlite3", "sqlite3.h", "libsqlite3-dev"),
    // Debian puts libpq's header under postgresql/; the bare name maps compiler errors back
    ("pq", "postgresql/libpq-fe.h", "libpq-dev"),
    ("pq", "libpq-fe.h", "libpq-dev"),
    ("mariadb", "mariadb/mysql.h", "libmariadb-dev"),
    ("hiredis", "hiredis/hiredis.h", "libhiredis-dev"),
    ("rabbitmq", "amqp.h", "librabbitmq-dev"),
    ("rdkafka", "librdkafka/rdkafka.h", "librdkafka-dev"),
    ("ffi", "ffi.h", "libffi-dev"),
    ("uv", "uv.h", "libuv1-dev"),
    ("yaml", "yaml.h", "libyaml-dev"),
    ("m", "math.h", "libc6-dev"),
    ("pthread", "pthread.h", "libc6-dev"),
    ("dl", "dlfcn.h", "libc6-dev"),
    ("rt", "time.h", "libc6-dev"),
];

/// The header that shows `lib`'s development files are installed, when known.
pub fn library_header(lib: &str) -> Option<&'static str> {
    KNOWN.iter().find(|(l, _, _)| *l == lib).map(|(_, h, _)| *h)
}

/// The command that installs `lib`'s development files on Debian.
pub fn install_hint(lib: &str) -> String {
    match KNOWN.iter().find(|(l, _, _)| *l == lib) {
        Some((_, _, package)) => format!("apt-get install {package}"),
        None => format!(
            "install the development files of lib{lib} (Debian: `apt-cache search --names-only 'lib{lib}.*-dev'` names the package)"
        ),
    }
}

/// The package whose header `header` is (`curl/curl.h` → libcurl4-openssl-dev), when known.
pub fn package_of_header(header: &str) -> Option<&'static str> {
    KNOWN
        .iter()
        .find(|(_, h, _)| *h == header)
        .map(|(_, _, p)| *p)
}

/// What a failed compilation says is missing from the system — a header (`fatal error: X: No
/// such file or directory`) or a library (`cannot find -lX`) — and the command that installs it.
pub fn missing_dev_files(stderr: &str) -> Option<(String, String)> {
    for line in stderr.lines() {
        if let Some(rest) = line.split("fatal error: ").nth(1) {
            if let Some(header) = rest.strip_suffix(": No such file or directory") {
                let fix = match package_of_header(header) {
                    Some(p) => format!("apt-get install {p}"),
                    None => format!(
                        "install the development package that provides <{header}> (Debian: `apt-file search {header}` names it)"
                    ),
                };
                return Some((format!("the header <{header}>"), fix));
            }
        }
        if let Some(rest) = line.split("cannot find -l").nth(1) {
            let lib: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '+'))
                .collect();
            if !lib.is_empty() {
                return Some((format!("the library -l{lib}"), install_hint(&lib)));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_libraries_name_their_debian_package() {
        assert_eq!(install_hint("curl"), "apt-get install libcurl4-openssl-dev");
        assert_eq!(library_header("z"), Some("zlib.h"));
        assert_eq!(package_of_header("openssl/ssl.h"), Some("libssl-dev"));
        assert!(install_hint("frobnicate").contains("libfrobnicate"));
    }

    #[test]
    fn database_and_messaging_clients_name_their_debian_package() {
        assert_eq!(install_hint("mariadb"), "apt-get install libmariadb-dev");
        assert_eq!(package_of_header("mariadb/mysql.h"), Some("libmariadb-dev"));
        assert_eq!(library_header("hiredis"), Some("hiredis/hiredis.h"));
        assert_eq!(library_header("pq"), Some("postgresql/libpq-fe.h"));
        assert_eq!(package_of_header("libpq-fe.h"), Some("libpq-dev"));
        assert_eq!(install_hint("rabbitmq"), "apt-get install librabbitmq-dev");
        assert_eq!(
            package_of_header("librdkafka/rdkafka.h"),
            Some("librdkafka-dev")
        );
    }

    #[test]
    fn missing_headers_and_libraries_are_read_from_the_compiler() {
        let gcc = "ffi/x.c:1:10: fatal error: curl/curl.h: No such file or directory\n    1 | #include <curl/curl.h>";
        assert_eq!(
            missing_dev_files(gcc),
            Some((
                "the header <curl/curl.h>".into(),
                "apt-get install libcurl4-openssl-dev".into()
            ))
        );
        let ld = "/usr/bin/ld: cannot find -lfrob: No such file or directory\ncollect2: error: ld returned 1 exit status";
        let (what, fix) = missing_dev_files(ld).unwrap();
        assert_eq!(what, "the library -lfrob");
        assert!(fix.contains("libfrob"), "{fix}");
        assert_eq!(missing_dev_files("x.c:3: error: expected ';'"), None);
    }
}
