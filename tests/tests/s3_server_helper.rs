//! The `S3Server` test helper starts a real S3 server that `x07-blob-store` can talk to.

use x07_blob_store::{BlobStore, StoreUrl};
use x07_tests::s3::S3Server;

#[test]
fn s3_server_starts_serves_a_bucket_and_stops() {
    let mut server = S3Server::start();
    server.create_bucket("helper-check");
    let url = server.url("helper-check");
    assert!(
        url.starts_with("s3://helper-check?endpoint=http://127.0.0.1:"),
        "{url}"
    );
    for (k, v) in server.env() {
        std::env::set_var(k, v);
    }
    let store = BlobStore::open(&StoreUrl::parse(&url).expect("parse")).expect("open");
    store.put("a/b.txt", b"hello").expect("put");
    assert_eq!(
        store.get("a/b.txt").expect("get").as_deref(),
        Some(&b"hello"[..])
    );
    assert_eq!(
        fs_err::read(server.root().join("helper-check/a/b.txt")).expect("object file"),
        b"hello"
    );
    assert_eq!(store.list("a/").expect("list"), vec!["a/b.txt".to_string()]);
    let port = server.port();
    server.stop();
    server.stop();
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}
