//! A TCP echo server on 127.0.0.1 whose per-connection buffers and per-request objects come
//! from pools, driven by a built-in client load that stops by itself (at a request count or
//! a time limit, whichever comes first). Prints throughput and what the pools did.
//!
//! ```text
//! cargo run --release --example echo_server
//! ```
//!
//! The protocol is one line per request, `ECHO <id> <payload>`, answered with
//! `<id> <payload>`. Each client connection carries a few hundred requests and then
//! reconnects, so connection buffers are returned and reused as connections come and go.

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::Counting;
use pool_core::{Pool, Reset};
use std::alloc::System;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: Counting<System> = Counting::new(System);

/// Client threads, each with one connection open at a time.
const CLIENTS: usize = 4;
/// Requests before the load stops...
const MAX_REQUESTS: u64 = 200_000;
/// ...or this much time, whichever comes first.
const TIME_LIMIT: Duration = Duration::from_secs(5);
/// Requests per client connection before it reconnects.
const REQUESTS_PER_CONNECTION: u64 = 250;
/// Longest request line the server accepts.
const MAX_LINE: usize = 4096;

/// A parsed request: the pooled object each request line is decoded into. `#[derive(Reset)]`
/// clears every field on return and keeps the `String` and `Vec` allocations.
#[derive(Debug, Default, Reset)]
struct Request {
    id: u64,
    verb: String,
    payload: Vec<u8>,
}

/// Per-connection buffers: pending input and batched output. Pooled per connection, so a new
/// connection reuses a closed one's buffers.
static CONNECTION_BUFFERS: Pool<Vec<u8>> = Pool::new();
/// One request object per line being handled.
static REQUESTS: Pool<Request> = Pool::new();

fn main() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    println!(
        "echo server on {addr}; {CLIENTS} clients, up to {MAX_REQUESTS} requests or {} s",
        TIME_LIMIT.as_secs()
    );

    let stop = AtomicBool::new(false);
    let served = AtomicU64::new(0);
    let issued = AtomicU64::new(0);
    let connections = AtomicU64::new(0);
    counting_alloc::enable();
    let before = counting_alloc::snapshot();
    let started = Instant::now();

    let answered: u64 = thread::scope(|scope| {
        // The server: one thread per connection (the clients bound how many).
        let (stop, served, connections) = (&stop, &served, &connections);
        scope.spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                connections.fetch_add(1, Ordering::Relaxed);
                scope.spawn(move || match serve(stream) {
                    Ok(n) => served.fetch_add(n, Ordering::Relaxed),
                    Err(e) => panic!("connection failed: {e}"),
                });
            }
        });

        // The load: bounded in requests and in time, so the example always ends.
        let deadline = started + TIME_LIMIT;
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let issued = &issued;
                scope.spawn(move || client(addr, c, issued, deadline))
            })
            .collect();
        let answered = clients.into_iter().map(|c| c.join().unwrap()).sum();

        // Wake the accept loop so it sees `stop`.
        stop.store(true, Ordering::SeqCst);
        drop(TcpStream::connect(addr));
        answered
    });
    let elapsed = started.elapsed();
    let counts = counting_alloc::snapshot().since(&before);

    let served = served.load(Ordering::Relaxed);
    assert_eq!(served, answered, "every request was answered");
    println!(
        "\n{answered} requests over {} connections in {:.2} s: {:.0} requests/s",
        connections.load(Ordering::Relaxed),
        elapsed.as_secs_f64(),
        answered as f64 / elapsed.as_secs_f64()
    );
    println!(
        "allocations, whole process (clients, threads and sockets included): {} ({:.3} per request), {} bytes",
        counts.allocs,
        counts.allocs as f64 / answered as f64,
        counts.bytes_allocated
    );
    println!("\nconnection buffers: {}", CONNECTION_BUFFERS.stats());
    println!("request objects:    {}", REQUESTS.stats());
    Ok(())
}

/// Serves one connection until the client closes it; returns the requests answered.
fn serve(mut stream: TcpStream) -> io::Result<u64> {
    let mut pending = CONNECTION_BUFFERS.get();
    let mut replies = CONNECTION_BUFFERS.get();
    let mut chunk = [0u8; 4096];
    let mut answered = 0;
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(answered); // both buffers go back to the pool here
        }
        pending.extend_from_slice(&chunk[..n]);
        let mut consumed = 0;
        while let Some(end) = pending[consumed..].iter().position(|&b| b == b'\n') {
            let line = &pending[consumed..consumed + end];
            let mut request = REQUESTS.get();
            parse(line, &mut request)?;
            respond(&request, &mut replies);
            answered += 1;
            consumed += end + 1;
        } // each request object is reset and returned as its guard drops
        pending.drain(..consumed);
        if pending.len() > MAX_LINE {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
        }
        stream.write_all(&replies)?;
        replies.clear();
    }
}

/// Decodes `ECHO <id> <payload>` into a pooled request.
fn parse(line: &[u8], request: &mut Request) -> io::Result<()> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "expected `ECHO <id> <payload>`");
    let mut parts = line.splitn(3, |&b| b == b' ');
    let verb = parts.next().ok_or_else(bad)?;
    request
        .verb
        .push_str(std::str::from_utf8(verb).map_err(|_| bad())?);
    if request.verb != "ECHO" {
        return Err(bad());
    }
    let id = parts.next().ok_or_else(bad)?;
    request.id = std::str::from_utf8(id)
        .ok()
        .and_then(|id| id.parse().ok())
        .ok_or_else(bad)?;
    request
        .payload
        .extend_from_slice(parts.next().ok_or_else(bad)?);
    Ok(())
}

fn respond(request: &Request, out: &mut Vec<u8>) {
    write!(out, "{} ", request.id).expect("writing to a Vec cannot fail");
    out.extend_from_slice(&request.payload);
    out.push(b'\n');
}

/// One client: connects, sends requests one at a time and checks each answer, reconnecting
/// every [`REQUESTS_PER_CONNECTION`], until the shared request budget or the deadline runs
/// out. Returns how many answers it checked.
fn client(addr: std::net::SocketAddr, client: usize, issued: &AtomicU64, deadline: Instant) -> u64 {
    let mut answered = 0;
    let mut line = Vec::with_capacity(256);
    let mut reply = [0u8; 512];
    'connections: loop {
        let mut stream = TcpStream::connect(addr).expect("connect to the echo server");
        stream.set_nodelay(true).expect("set TCP_NODELAY");
        for _ in 0..REQUESTS_PER_CONNECTION {
            let id = issued.fetch_add(1, Ordering::Relaxed);
            if id >= MAX_REQUESTS || Instant::now() >= deadline {
                break 'connections;
            }
            line.clear();
            writeln!(line, "ECHO {id} client {client} says hello, request {id}")
                .expect("writing to a Vec cannot fail");
            stream.write_all(&line).expect("send a request");
            // The answer is the line minus `ECHO `.
            let want = &line[5..];
            let mut got = 0;
            while got < want.len() {
                let n = stream.read(&mut reply[got..]).expect("read an answer");
                assert!(n > 0, "the server closed the connection early");
                got += n;
            }
            assert_eq!(&reply[..got], want, "the echo matches the request");
            answered += 1;
        }
        stream.shutdown(Shutdown::Both).ok();
    }
    answered
}
