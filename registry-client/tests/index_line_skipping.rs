//! One index line the client cannot read (a version past u64, a newer line format, not JSON at
//! all) is skipped with a warning and the rest of the file is used; a line not signed by the
//! pinned key still refuses the whole file.

mod common;

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::*;
use serde_json::Value;
use x07_registry_client::{LineProblem, RegistryError};

const INDEX_FILE: &str = "/index/ex/t-/ext-net";

/// Collects what a tracing subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Runs `f` with a subscriber that writes warnings into the returned buffer.
fn with_warnings<T>(captured: &Captured, f: impl FnOnce() -> T) -> T {
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, f)
}

/// `line` with `edit` applied and signed again with `key`.
fn edited(line: &str, key: &ed25519_dalek::SigningKey, edit: impl FnOnce(&mut Value)) -> String {
    let mut v: Value = serde_json::from_str(line).unwrap();
    edit(&mut v);
    resign_line(&v.to_string(), key)
}

#[test]
fn a_line_the_client_cannot_read_is_skipped_with_a_warning() {
    // The test signs the index itself (key 5 is what config.json offers and the client pins),
    // so it can add lines the registry signed but this client cannot read.
    let mode = Arc::new(AtomicUsize::new(0));
    let m = mode.clone();
    let reg = Registry::start_behind(move |r, up| {
        let mut reply = up.forward(r);
        let key = foreign_key(5);
        if r.path == "/index/config.json" && reply.status == 200 {
            reply.body = config_with_key(&reply.body, &key);
        }
        if r.path == INDEX_FILE && reply.status == 200 {
            let text = String::from_utf8(map_lines(&reply.body, |l| resign_line(l, &key))).unwrap();
            let first = text.lines().next().unwrap().to_string();
            let mut body = text;
            body += &edited(&first, &key, |v| {
                v["version"] = "18446744073709551616.0.0".into()
            });
            body += "\n";
            body += &edited(&first, &key, |v| {
                v["schema_version"] = "x07.index-entry@9.0.0".into();
                v["version"] = "0.2.0".into();
            });
            body += "\nthis line is not JSON\n";
            if m.load(Ordering::SeqCst) == 1 {
                // A line signed by another key: tampering, not an unreadable line.
                body += &edited(&first, &foreign_key(6), |v| v["version"] = "0.3.0".into());
                body += "\n";
            }
            reply.body = body.into_bytes();
        }
        reply
    });
    let src = tempfile::tempdir().unwrap();
    let archive = pack(&write_package(src.path(), "ext-net", "0.1.0", &[]));
    reg.publish_direct(&reg.token("alice"), &archive);

    let home = tempfile::tempdir().unwrap();
    let client = client(home.path(), &reg.index_url());
    let captured = Captured::default();
    let entries = with_warnings(&captured, || client.index_entries(&name("ext-net"))).unwrap();
    let versions: Vec<&str> = entries.iter().map(|e| e.version.as_str()).collect();
    assert_eq!(versions, ["0.1.0"]);
    let warnings = captured.text();
    for expected in [
        "skipping line 2 of the index file of `ext-net`",
        "does not fit in 64 bits",
        "skipping line 3",
        "x07.index-entry@9.0.0",
        "skipping line 4",
    ] {
        assert!(
            warnings.contains(expected),
            "want `{expected}` in:\n{warnings}"
        );
    }
    assert!(warnings.contains("WARN"), "{warnings}");
    // The readable version works end to end, and the file was cached (every line it used verified).
    assert_eq!(
        fs_err::read(client.download(&entries[0]).unwrap()).unwrap(),
        archive
    );
    assert!(home
        .path()
        .join("cache/index")
        .join(reg.index_url().cache_key())
        .join("ex/t-/ext-net")
        .exists());
    // Warned once per client, however often the file is read.
    let before = captured.text().matches("skipping line").count();
    with_warnings(&captured, || client.index_entries(&name("ext-net"))).unwrap();
    assert_eq!(captured.text().matches("skipping line").count(), before);

    // A line signed by a key other than the pinned one still refuses the whole file.
    mode.store(1, Ordering::SeqCst);
    let fresh = tempfile::tempdir().unwrap();
    let client = common::client(fresh.path(), &reg.index_url());
    match client.index_entries(&name("ext-net")).unwrap_err() {
        RegistryError::BadIndexLine {
            problem: LineProblem::OtherKey(_),
            line: 5,
            ..
        } => {}
        other => panic!("expected the file to be refused for line 5: {other}"),
    }
}
