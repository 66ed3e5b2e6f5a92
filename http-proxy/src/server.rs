//! The server: HTTP/1.1 on hyper, on a tokio runtime of its own, on 127.0.0.1.
//!
//! - `GET /body/<bytes>`: a body of that many bytes (up to [`MAX_BODY`]);
//! - `GET /random`: a body whose size the server draws from the story's distribution
//!   (request n of the server gets the size of the client's request n), so a load generator
//!   with a fixed URL, such as `wrk`, exercises the whole distribution.
//!
//! Each body is filled the way a proxy copies an upstream response into a buffer, then
//! handed to hyper as `bytes::Bytes`. With [`Strategy::Pool`] the buffer comes from a
//! `BufferPool` and is frozen without a copy; it goes back to the pool when hyper drops the
//! `Bytes`, once the body is sent. With [`Strategy::Fresh`] it is a new `Vec` each time.

use crate::proxy_workload;
use crate::workload;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use pool_core::{BufferPool, BufferStats};
use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

/// The largest body `/body/<bytes>` serves (4 MiB is the pool's largest class; bigger
/// bodies are served from fresh buffers the pool does not keep).
pub const MAX_BODY: usize = 16 << 20;

/// Where the server's body buffers come from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Strategy {
    /// `BufferPool::new()`: `get_owned(len)`, filled, `freeze()`d into `Bytes`.
    Pool,
    /// `Vec::with_capacity(len)`, filled, `Bytes::from(vec)`: freed when sent.
    Fresh,
}

impl Strategy {
    /// Both, in the order the default mode runs them.
    pub const ALL: [Strategy; 2] = [Strategy::Pool, Strategy::Fresh];

    /// Its name on the command line.
    pub fn arg(self) -> &'static str {
        match self {
            Strategy::Pool => "pool",
            Strategy::Fresh => "fresh",
        }
    }

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Pool => "BufferPool -> Bytes",
            Strategy::Fresh => "fresh Vec -> Bytes",
        }
    }

    /// The strategy named `arg` on the command line.
    pub fn parse(arg: &str) -> Option<Self> {
        Strategy::ALL.into_iter().find(|s| s.arg() == arg)
    }
}

/// What the connections share.
struct State {
    /// `Some` for [`Strategy::Pool`].
    buffers: Option<BufferPool>,
    /// Bodies served.
    served: AtomicU64,
    /// `/random` requests so far: the next one's index into the size sequence.
    random: AtomicU64,
    /// Connections open now.
    open: AtomicUsize,
    /// Connections that ended with an error (a client that left mid-response, say).
    broken: AtomicU64,
}

impl State {
    fn respond(&self, request: &Request<Incoming>) -> Response<Full<Bytes>> {
        if request.method() != Method::GET {
            return status(StatusCode::METHOD_NOT_ALLOWED);
        }
        let len = match request.uri().path() {
            "/random" => workload::request_len(self.random.fetch_add(1, Ordering::Relaxed)),
            path => match path.strip_prefix("/body/").map(str::parse::<usize>) {
                Some(Ok(len)) if len <= MAX_BODY => len,
                Some(_) => return status(StatusCode::BAD_REQUEST),
                None => return status(StatusCode::NOT_FOUND),
            },
        };
        self.served.fetch_add(1, Ordering::Relaxed);
        Response::new(Full::new(self.body(len)))
    }

    /// A body of `len` bytes, as `Bytes` for hyper.
    fn body(&self, len: usize) -> Bytes {
        match &self.buffers {
            Some(buffers) => {
                let mut buf = buffers.get_owned(len);
                workload::fill(&mut buf, len);
                buf.freeze()
            }
            None => {
                let mut buf = Vec::with_capacity(len);
                workload::fill(&mut buf, len);
                Bytes::from(buf)
            }
        }
    }
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = code;
    response
}

/// Counts a connection open until dropped: when its task ends, or is dropped with the
/// runtime.
struct Open(Arc<State>);

impl Open {
    fn new(state: &Arc<State>) -> Self {
        state.open.fetch_add(1, Ordering::Relaxed);
        Open(Arc::clone(state))
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let open = Open::new(&state);
                tokio::spawn(serve_connection(stream, open));
            }
            Err(error) => {
                // Out of file descriptors, say: wait for connections to close.
                eprintln!("accept: {error}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn serve_connection(stream: TcpStream, open: Open) {
    let _ = stream.set_nodelay(true);
    let state = Arc::clone(&open.0);
    let service =
        service_fn(move |request| std::future::ready(Ok::<_, Infallible>(state.respond(&request))));
    if http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await
        .is_err()
    {
        open.0.broken.fetch_add(1, Ordering::Relaxed);
    }
}

/// A running server.
pub struct Server {
    runtime: Runtime,
    state: Arc<State>,
    accept: JoinHandle<()>,
    addr: SocketAddr,
    /// RSS once the server was up, before any request.
    baseline: usize,
}

/// A server's figures when it stopped. Memory figures are bytes above the RSS the process
/// had when the server was up and had served nothing.
pub struct Report {
    /// The RSS before any request.
    pub baseline: usize,
    /// Bodies served.
    pub served: u64,
    /// Connections still open when the figures were taken (their bodies in flight count).
    pub still_open: usize,
    /// Connections that ended with an error.
    pub broken: u64,
    /// The most resident memory while serving.
    pub peak: usize,
    /// Resident memory once the load stopped and the connections closed.
    pub after_load: usize,
    /// Resident memory after two sweeps of the pool (for fresh allocation, the same moment:
    /// there is nothing to sweep).
    pub after_sweeps: usize,
    /// The pool's figures after the sweeps, with [`Strategy::Pool`].
    pub stats: Option<BufferStats>,
}

impl Server {
    /// Starts serving on 127.0.0.1:`port` (0: a port the system picks) with tokio's default
    /// worker threads (one per core). The RSS baseline is taken once the server is up.
    pub fn start(strategy: Strategy, port: u16) -> io::Result<Server> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let listener = runtime.block_on(TcpListener::bind((Ipv4Addr::LOCALHOST, port)))?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            buffers: (strategy == Strategy::Pool).then(BufferPool::new),
            served: AtomicU64::new(0),
            random: AtomicU64::new(0),
            open: AtomicUsize::new(0),
            broken: AtomicU64::new(0),
        });
        let accept = runtime.spawn(accept_loop(listener, Arc::clone(&state)));
        let baseline = proxy_workload::rss();
        proxy_workload::reset_peak_rss();
        Ok(Server {
            runtime,
            state,
            accept,
            addr,
            baseline,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, waits up to `drain` for the open connections to close, takes the
    /// memory figures (sweeping the pool twice while the runtime is still up and idle, as
    /// a server between bursts would), then shuts the runtime down.
    pub fn stop(self, drain: Duration) -> Report {
        self.accept.abort();
        let waiting = Instant::now();
        while self.state.open.load(Ordering::Relaxed) > 0 && waiting.elapsed() < drain {
            thread::sleep(Duration::from_millis(5));
        }
        let still_open = self.state.open.load(Ordering::Relaxed);
        let peak = proxy_workload::peak_rss().saturating_sub(self.baseline);
        let after_load = proxy_workload::rss().saturating_sub(self.baseline);
        if let Some(buffers) = &self.state.buffers {
            buffers.sweep();
            buffers.sweep();
        }
        let after_sweeps = proxy_workload::rss().saturating_sub(self.baseline);
        let report = Report {
            baseline: self.baseline,
            served: self.state.served.load(Ordering::Relaxed),
            still_open,
            broken: self.state.broken.load(Ordering::Relaxed),
            peak,
            after_load,
            after_sweeps,
            stats: self.state.buffers.as_ref().map(BufferPool::stats),
        };
        self.runtime.shutdown_background();
        report
    }
}
