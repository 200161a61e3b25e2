//! All uploads in progress share one cap (`max_pending_upload_bytes`): past it a publish is
//! answered 503 from its headers, its body unread, and the space comes back when an upload ends.

mod common;

use std::io::Write as _;
use std::time::{Duration, Instant};

use common::raw::{connect, publish_head, read_response, send_filler};
use common::Fixture;
use x07_registry_server::Scope;

const MIB: u64 = 1 << 20;

#[test]
fn uploads_in_progress_share_one_cap() {
    let fx = Fixture::start_with(|c| c.max_pending_upload_bytes = Some(3 * MIB));
    let alice = fx.token("alice", &[Scope::Publish]);
    let addr = fx.server.as_ref().unwrap().addr();

    // The first upload declares 2 MiB and sends half of it: it holds 2 MiB of the cap.
    let mut first = connect(addr);
    first
        .write_all(publish_head(Some(&alice), 2 * MIB).as_bytes())
        .unwrap();
    assert_eq!(send_filler(&mut first, MIB, b'x'), MIB);
    // Wait until the server is receiving it (the upload's temp file grows in DIR/tmp).
    let tmp = fx.root().scratch_dir();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !fs_err::read_dir(&tmp).unwrap().any(|e| {
        let e = e.unwrap();
        e.file_name().to_string_lossy().starts_with(".x07-upload-")
            && e.metadata().unwrap().len() >= MIB / 2
    }) {
        assert!(Instant::now() < deadline, "the first upload never arrived");
        std::thread::sleep(Duration::from_millis(20));
    }

    // A second 2 MiB upload does not fit beside it: 503 from the headers.
    let mut second = connect(addr);
    second
        .write_all(publish_head(Some(&alice), 2 * MIB).as_bytes())
        .unwrap();
    let answer = read_response(&mut second).expect("an answer before the body");
    assert_eq!(
        (answer.status, answer.json()["code"].as_str()),
        (503, Some("X07REG_UNAVAILABLE")),
        "{answer:?}"
    );
    let message = answer.json()["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(message.contains("too many uploads at once"), "{message}");
    // A small one still fits.
    let mut small = connect(addr);
    small
        .write_all(publish_head(Some(&alice), MIB / 2).as_bytes())
        .unwrap();
    send_filler(&mut small, MIB / 2, b'x');
    assert_eq!(
        read_response(&mut small).unwrap().status,
        400,
        "read, then refused as no archive"
    );

    // The first upload ends (its filler is no archive): its share comes back.
    send_filler(&mut first, MIB, b'x');
    assert_eq!(read_response(&mut first).unwrap().status, 400);
    let mut third = connect(addr);
    third
        .write_all(publish_head(Some(&alice), 2 * MIB).as_bytes())
        .unwrap();
    send_filler(&mut third, 2 * MIB, b'x');
    assert_eq!(
        read_response(&mut third).unwrap().status,
        400,
        "accepted and read whole"
    );
}
