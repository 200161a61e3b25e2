//! Running the server: `serve` until SIGINT/SIGTERM, or a [`ServerHandle`] that tests start and stop.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::config::ConnectionLimits;
use crate::connection::serve_connections;
use crate::http::router;
use crate::registry::Registry;
use crate::root::{RegistryRoot, RootError};

/// How to run a registry server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where the registry's state lives.
    pub storage: Storage,
    /// Address to listen on; port 0 picks a free port.
    pub addr: SocketAddr,
    /// The URL clients use, if not `http://<addr>` (behind a proxy); remembered in config.json.
    pub public_url: Option<String>,
    /// Overrides config.json's `max_publish_bytes` for this run.
    pub max_publish_bytes: Option<u64>,
    /// Overrides config.json's `max_pending_upload_bytes` for this run.
    pub max_pending_upload_bytes: Option<u64>,
    /// Owners added to config.json's `official_owners` (may publish `std.*` modules); remembered.
    pub official_owners: Vec<crate::OwnerName>,
    /// Overrides config.json's timeouts and connection cap for this run.
    pub limits: Option<ConnectionLimits>,
    /// Overrides single limits (`x07 registry serve --header-timeout ...`) for this run.
    pub limit_overrides: LimitOverrides,
}

/// Where a registry keeps its state.
#[derive(Debug, Clone)]
pub enum Storage {
    /// A directory (created and initialised on first start); one server process.
    Dir(PathBuf),
    /// PostgreSQL for metadata and an object store for archives and index files; any number of
    /// server processes.
    Shared(crate::shared::SharedConfig),
}

/// Single connection limits given on the command line; the rest stay config.json's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimitOverrides {
    /// `--header-timeout SECS`.
    pub header_timeout_secs: Option<u64>,
    /// `--body-timeout SECS`.
    pub body_timeout_secs: Option<u64>,
    /// `--idle-timeout SECS`.
    pub idle_timeout_secs: Option<u64>,
    /// `--publish-timeout SECS`.
    pub publish_timeout_secs: Option<u64>,
    /// `--max-connections N`.
    pub max_connections: Option<usize>,
}

impl LimitOverrides {
    /// `limits` with every given override applied (a zero timeout or cap counts as 1).
    pub fn apply(&self, limits: &mut ConnectionLimits) {
        let secs = |s: u64| std::time::Duration::from_secs(s.max(1));
        if let Some(s) = self.header_timeout_secs {
            limits.header_timeout = secs(s);
        }
        if let Some(s) = self.body_timeout_secs {
            limits.body_timeout = secs(s);
        }
        if let Some(s) = self.idle_timeout_secs {
            limits.idle_timeout = secs(s);
        }
        if let Some(s) = self.publish_timeout_secs {
            limits.publish_timeout = secs(s);
        }
        if let Some(n) = self.max_connections {
            limits.max_connections = n.max(1);
        }
    }
}

impl ServerConfig {
    /// A config with defaults for everything but root and address.
    pub fn new(root: impl Into<PathBuf>, addr: SocketAddr) -> Self {
        Self {
            storage: Storage::Dir(root.into()),
            addr,
            public_url: None,
            max_publish_bytes: None,
            max_pending_upload_bytes: None,
            official_owners: Vec::new(),
            limits: None,
            limit_overrides: LimitOverrides::default(),
        }
    }
}

/// Starting or running the server failed.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The address cannot be bound.
    #[error("cannot listen on {0}: {1}; pick another --addr (port 0 picks a free one)")]
    Bind(SocketAddr, std::io::Error),
    /// The registry root is unusable.
    #[error("registry root {0}: {1}")]
    Root(PathBuf, RootError),
    /// The database or the object store is unusable.
    #[error("{0}")]
    Shared(#[from] crate::shared::SharedError),
    /// The async runtime could not start, or serving failed.
    #[error("registry server: {0}")]
    Io(#[from] std::io::Error),
}

/// Binds and loads the registry (initialising the root on first start).
async fn start(config: ServerConfig) -> Result<(TcpListener, Arc<Registry>), ServerError> {
    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|e| ServerError::Bind(config.addr, e))?;
    let local = listener.local_addr()?;
    let listen_url = format!("http://{local}");
    let mut registry = match config.storage.clone() {
        Storage::Dir(root_dir) => {
            let (public_url, official) =
                (config.public_url.clone(), config.official_owners.clone());
            let dir = root_dir.clone();
            tokio::task::spawn_blocking(move || {
                Registry::open(
                    RegistryRoot::new(&dir),
                    &listen_url,
                    public_url.as_deref(),
                    &official,
                )
            })
            .await
            .map_err(std::io::Error::other)?
            .map_err(|e| ServerError::Root(root_dir, e))?
        }
        Storage::Shared(shared) => {
            crate::shared::open(
                &shared,
                &listen_url,
                config.public_url.as_deref(),
                &config.official_owners,
            )
            .await?
        }
    };
    if let Some(max) = config.max_publish_bytes {
        registry.config.max_publish_bytes = max;
    }
    if let Some(max) = config.max_pending_upload_bytes {
        registry.config.max_pending_upload_bytes = max;
        registry.uploads = crate::upload::UploadBudget::new(max);
    }
    if let Some(limits) = config.limits {
        registry.limits = limits;
    }
    config.limit_overrides.apply(&mut registry.limits);
    Ok((listener, Arc::new(registry)))
}

/// Serves `registry` on `listener` until `shutdown` completes, then finishes open requests.
async fn run(
    listener: TcpListener,
    registry: Arc<Registry>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    registry.log_start();
    let limits = registry.limits;
    serve_connections(listener, router(registry), limits, shutdown).await;
    Ok(())
}

/// Runs the server until SIGINT or SIGTERM; prints `listening on http://ADDR` on stderr once
/// bound (always the first line), then logs to stderr (unless a tracing subscriber is already set).
pub async fn serve(config: ServerConfig) -> Result<(), ServerError> {
    let (listener, registry) = start(config).await?;
    eprintln!("listening on http://{}", listener.local_addr()?);
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::INFO)
        .with_target(false)
        .try_init();
    run(listener, registry, termination()).await
}

/// [`serve`] on a new multi-threaded tokio runtime, for callers without one.
pub fn serve_blocking(config: ServerConfig) -> Result<(), ServerError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve(config))
}

/// Completes on SIGINT or SIGTERM.
async fn termination() {
    let sigterm = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = sigterm => {}
    }
}

/// A server running on its own runtime thread; stops on [`ServerHandle::shutdown`] or drop.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), ServerError>>>,
}

impl ServerHandle {
    /// Starts a server and returns once it accepts connections.
    pub fn start(config: ServerConfig) -> Result<Self, ServerError> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("x07-registry".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()?;
                runtime.block_on(async move {
                    match start(config).await {
                        Ok((listener, registry)) => {
                            let _ = ready_tx.send(listener.local_addr().map_err(ServerError::Io));
                            run(listener, registry, async {
                                let _ = stop_rx.await;
                            })
                            .await
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            Ok(())
                        }
                    }
                })
            })?;
        let addr = match ready_rx.recv() {
            Ok(Ok(addr)) => addr,
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e);
            }
            Err(_) => {
                return Err(match thread.join() {
                    Ok(Err(e)) => e,
                    _ => ServerError::Io(std::io::Error::other(
                        "the server thread ended before it was ready",
                    )),
                })
            }
        };
        Ok(Self {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, finishes open requests, and waits for the server thread.
    pub fn shutdown(mut self) -> Result<(), ServerError> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> Result<(), ServerError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(ServerError::Io(std::io::Error::other(
                "the server thread panicked",
            ))),
            None => Ok(()),
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        let _ = self.stop_and_join();
    }
}
