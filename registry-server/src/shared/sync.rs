//! Keeping every process's in-memory index and the object store's index files in step with the
//! database: a LISTEN connection reloads a package when another process commits a change to it
//! (and everything after a reconnect), and a repair pass writes the object store's copy of any
//! index file whose generation is behind (a process died between its commit and that write).

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio_postgres::AsyncMessage;
use x07_spec::PackageName;

use super::schema::INDEX_CHANNEL;
use super::{index_key, SharedError, SharedState};
use crate::index_store::IndexFile;

/// How often each process looks for object-store index files left behind.
const REPAIR_EVERY: Duration = Duration::from_secs(15);

impl SharedState {
    /// Loads every package's index file from the database.
    pub(crate) async fn load_all(&self) -> Result<(), SharedError> {
        let client = self
            .pool
            .get()
            .await
            .map_err(|e| self.url.error_chain("getting a connection", &e))?;
        let rows = client
            .query("SELECT name, index_body FROM x07_packages", &[])
            .await
            .map_err(|e| self.url.error("reading the index", e))?;
        for row in rows {
            let name: String = row.get(0);
            let body: Vec<u8> = row.get(1);
            match PackageName::new(name.as_str()) {
                Ok(name) => {
                    let file = IndexFile::parse(&name, &body);
                    self.index.install(&name, Arc::new(file));
                }
                Err(e) => {
                    tracing::warn!(package = %name, "not serving a package whose name is invalid: {e}")
                }
            }
        }
        Ok(())
    }

    /// Loads one package's index file from the database.
    pub(crate) async fn reload(&self, name: &PackageName) -> Result<(), SharedError> {
        let client = self
            .pool
            .get()
            .await
            .map_err(|e| self.url.error_chain("getting a connection", &e))?;
        let row = client
            .query_opt(
                "SELECT index_body FROM x07_packages WHERE name = $1",
                &[&name.as_str()],
            )
            .await
            .map_err(|e| self.url.error("reading an index file", e))?;
        match row {
            Some(row) => {
                let body: Vec<u8> = row.get(0);
                self.index
                    .install(name, Arc::new(IndexFile::parse(name, &body)));
            }
            None => self.index.remove(name),
        }
        Ok(())
    }

    /// Writes `bytes` to `key` unless the object store already holds exactly them (blocking).
    pub(crate) fn put_if_changed(&self, key: &str, bytes: &[u8]) -> Result<(), SharedError> {
        if self.bucket.get(key)?.as_deref() != Some(bytes) {
            self.bucket.put(key, bytes)?;
        }
        Ok(())
    }

    /// Writes the object store's copy of `name`'s index file if it is behind the database, under
    /// the package row's lock (so concurrent writers never put an older body over a newer one).
    /// Blocking: call from a blocking thread.
    pub(crate) fn sync_index_to_bucket(&self, name: &PackageName) -> Result<bool, SharedError> {
        let rt = &self.rt;
        let mut client = rt
            .block_on(self.pool.get())
            .map_err(|e| self.url.error_chain("getting a connection", &e))?;
        let tx = rt
            .block_on(client.transaction())
            .map_err(|e| self.url.error("starting a transaction", e))?;
        let row = rt
            .block_on(tx.query_opt(
                "SELECT index_body, index_generation, bucket_generation FROM x07_packages WHERE name = $1 FOR UPDATE",
                &[&name.as_str()],
            ))
            .map_err(|e| self.url.error("locking a package", e))?;
        let Some(row) = row else {
            return Ok(false);
        };
        let body: Vec<u8> = row.get(0);
        let generation: i64 = row.get(1);
        let written: i64 = row.get(2);
        if written >= generation {
            return Ok(false);
        }
        self.bucket.put(&index_key(name), &body)?;
        rt.block_on(tx.execute(
            "UPDATE x07_packages SET bucket_generation = $2 WHERE name = $1",
            &[&name.as_str(), &generation],
        ))
        .map_err(|e| self.url.error("recording an index write", e))?;
        rt.block_on(tx.commit())
            .map_err(|e| self.url.error("committing an index write", e))?;
        Ok(true)
    }

    /// Writes every object-store index file that is behind; returns the packages written.
    /// Blocking.
    pub(crate) fn repair_bucket(&self) -> Result<Vec<PackageName>, SharedError> {
        let rows = self
            .rt
            .block_on(async {
                let client = self.pool.get().await.map_err(|e| e.to_string())?;
                client
                    .query(
                        "SELECT name FROM x07_packages WHERE bucket_generation < index_generation ORDER BY name",
                        &[],
                    )
                    .await
                    .map_err(|e| e.to_string())
            })
            .map_err(|e| self.url.error("finding index files to write", e))?;
        let mut written = Vec::new();
        for row in rows {
            let name: String = row.get(0);
            let Ok(name) = PackageName::new(name.as_str()) else {
                continue;
            };
            if self.sync_index_to_bucket(&name)? {
                written.push(name);
            }
        }
        Ok(written)
    }
}

/// Starts the task that reloads packages other processes changed.
pub(crate) fn spawn_listener(state: Arc<SharedState>) {
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(200);
        loop {
            match listen(&state).await {
                Ok(()) => backoff = Duration::from_millis(200),
                Err(e) => tracing::warn!("change listener: {e}; reconnecting"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
    });
}

/// One LISTEN session: catch up on everything, then reload each package as it is announced.
async fn listen(state: &SharedState) -> Result<(), SharedError> {
    let (client, mut connection) = state.url.connect().await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if tx.send(n.payload().to_string()).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!("change listener connection: {e}");
                    break;
                }
            }
        }
    });
    client
        .batch_execute(&format!("LISTEN {INDEX_CHANNEL}"))
        .await
        .map_err(|e| state.url.error("listening for changes", e))?;
    // Changes committed while no session listened are picked up here.
    state.load_all().await?;
    while let Some(name) = rx.recv().await {
        match PackageName::new(name.as_str()) {
            Ok(name) => {
                if let Err(e) = state.reload(&name).await {
                    tracing::warn!(package = %name, "cannot reload a changed package: {e}");
                }
            }
            Err(_) => {
                tracing::warn!(payload = %name, "ignoring a change notice for an invalid name")
            }
        }
    }
    driver.abort();
    drop(client);
    Ok(())
}

/// Starts the task that writes object-store index files left behind by any process.
pub(crate) fn spawn_repairer(state: Arc<SharedState>) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(REPAIR_EVERY).await;
            let state = state.clone();
            let result = tokio::task::spawn_blocking(move || state.repair_bucket()).await;
            match result {
                Ok(Ok(written)) => {
                    for name in written {
                        tracing::info!(package = %name, "wrote an object store index file that was behind");
                    }
                }
                Ok(Err(e)) => tracing::warn!("index repair: {e}"),
                Err(e) => tracing::warn!("index repair: {e}"),
            }
        }
    });
}
