//! The built-in load: a few HTTP/1.1 keep-alive connections to the server, each sending one
//! request at a time, until a request count or a time limit is reached, whichever comes
//! first. Request n asks for `GET /body/<size of request n>`, so every run asks for the
//! same sizes, and every response is checked: its status, its length, and every byte of its
//! body.

use crate::workload;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::error::Error;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// Any failure of the load: a connection, a request, or a response that is not the body
/// asked for.
pub type Failure = Box<dyn Error + Send + Sync>;

/// A request that takes longer than this fails the run, so a stuck server cannot hang it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How much load to send.
#[derive(Clone, Copy, Debug)]
pub struct Load {
    /// Connections, each with one request in flight.
    pub connections: usize,
    /// Requests in all, at most.
    pub requests: u64,
    /// Time, at most: no request starts after it.
    pub time_limit: Duration,
}

/// What the load measured.
pub struct Measured {
    /// Requests completed and checked.
    pub completed: u64,
    /// Body bytes received.
    pub bytes: u64,
    /// From the first connection to the last response.
    pub elapsed: Duration,
    /// Each request's latency, from sending it to its body's last byte, sorted.
    pub latencies: Vec<Duration>,
}

impl Measured {
    /// Completed requests per second.
    pub fn rate(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64()
    }
}

/// The `q` quantile of sorted `latencies` (nearest rank); zero if there are none.
pub fn quantile(latencies: &[Duration], q: f64) -> Duration {
    let rank = (q * latencies.len() as f64).ceil() as usize;
    latencies
        .get(rank.clamp(1, latencies.len().max(1)) - 1)
        .copied()
        .unwrap_or_default()
}

/// Runs `load` against the server at `addr` on a runtime of its own (tokio's default worker
/// threads), and returns the figures, or the first failure.
pub fn run(addr: SocketAddr, load: Load) -> Result<Measured, Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_io()
        .enable_time()
        .build()?;
    runtime.block_on(async {
        let next = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let deadline = started + load.time_limit;
        let connections: Vec<_> = (0..load.connections)
            .map(|_| tokio::spawn(connection(addr, Arc::clone(&next), load.requests, deadline)))
            .collect();
        let mut measured = Measured {
            completed: 0,
            bytes: 0,
            elapsed: Duration::ZERO,
            latencies: Vec::new(),
        };
        for connection in connections {
            let (latencies, bytes) = connection.await??;
            measured.completed += latencies.len() as u64;
            measured.bytes += bytes;
            measured.latencies.extend(latencies);
        }
        measured.elapsed = started.elapsed();
        measured.latencies.sort_unstable();
        Ok(measured)
    })
}

/// One connection's requests, until the count or the deadline: their latencies and the body
/// bytes received.
async fn connection(
    addr: SocketAddr,
    next: Arc<AtomicU64>,
    requests: u64,
    deadline: Instant,
) -> Result<(Vec<Duration>, u64), Failure> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, driver) = http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream)).await?;
    let driver = tokio::spawn(driver);
    let mut latencies = Vec::new();
    let mut bytes = 0;
    while Instant::now() < deadline {
        let index = next.fetch_add(1, Ordering::Relaxed);
        if index >= requests {
            break;
        }
        let len = workload::request_len(index);
        let started = Instant::now();
        tokio::time::timeout(REQUEST_TIMEOUT, request(&mut sender, addr, len))
            .await
            .map_err(|_| format!("GET /body/{len}: no response in {REQUEST_TIMEOUT:?}"))??;
        latencies.push(started.elapsed());
        bytes += len as u64;
    }
    // Dropping the sender closes the connection; the driver then ends.
    drop(sender);
    driver.await??;
    Ok((latencies, bytes))
}

/// One request, its response read to the end and checked.
async fn request(
    sender: &mut http1::SendRequest<Empty<Bytes>>,
    addr: SocketAddr,
    len: usize,
) -> Result<(), Failure> {
    let path = format!("/body/{len}");
    let request = Request::get(&path)
        .header(hyper::header::HOST, addr.to_string())
        .body(Empty::new())?;
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    if response.status() != StatusCode::OK {
        return Err(format!("GET {path}: status {}", response.status()).into());
    }
    let mut body = response.into_body();
    let mut received = 0;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            workload::check(len, received, &data).map_err(|at| {
                format!("GET {path}: wrong body: byte {at} of {len} differs, or the body is longer")
            })?;
            received += data.len();
        }
    }
    if received != len {
        return Err(format!("GET {path}: {received} bytes, expected {len}").into());
    }
    Ok(())
}
