//! The first story on a real HTTP stack: a proxy serving images and songs needs a 10 KB to
//! 3 MB buffer per request (mean about 100 KB). This is an HTTP/1.1 server on tokio and
//! hyper whose response bodies are `BufferPool` buffers frozen into `bytes::Bytes` without a
//! copy (each goes back to the pool when hyper drops the body it sent), measured against
//! the same server allocating each body fresh.
//!
//! ```text
//! cargo run --release -p pool-http-example     # 5 rounds of 40,000 requests, at most 60 s
//! cargo run --release -p pool-http-example -- --requests 2000 --seconds 20
//! cargo run --release -p pool-http-example -- --serve-only --seconds 30 --port 8080
//! ```
//!
//! Default mode: rounds (`--rounds`, default 5), each running both strategies in turn, the
//! order alternating from round to round. A run is a server in a child process of its own,
//! so each starts from a fresh heap, and a bounded client in this process: 8 keep-alive
//! connections on 127.0.0.1, one request in flight each, until the request count
//! (`--requests`, per run) or the run's share of the time limit (`--seconds`, for the whole
//! program), whichever comes first; every byte of every body is checked. It prints, per
//! strategy, requests/s, p50 and p99 latency, the server's peak RSS, its RSS once the load
//! stopped and after two sweeps, and a verdict line with each round's speed ratio, which
//! shows the run-to-run noise.
//!
//! `--serve-only`: the server alone on 127.0.0.1 (`--port`, default 8080; `--strategy pool`
//! or `fresh`), for `--seconds` (default 60), then it prints what it served and its memory
//! figures and exits: for a load generator such as `wrk` (README.md shows the command).
//! `GET /body/<bytes>` serves that many bytes, `GET /random` a size from the story's
//! distribution.
//!
//! Files: `server.rs` (the hyper server and its bodies), `client.rs` (the load),
//! `workload.rs` (sizes and body bytes); and, shared with the README's demo and the proxy
//! benchmark, `examples/support/proxy_workload.rs` (the size distribution, RSS readings, the
//! `RESULT` line's figures, medians).

mod client;
// Not installed as the global allocator: the shared workload file's `run_child`, which this
// program does not run, names it.
#[path = "../../examples/support/counting_alloc.rs"]
mod counting_alloc;
#[path = "../../examples/support/proxy_workload.rs"]
mod proxy_workload;
mod server;
mod workload;

use client::{Failure, Load, Measured};
use proxy_workload::{Figures, median, mib};
use server::{Server, Strategy};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const DEFAULT_ROUNDS: usize = 5;
/// Per run: about 2 s at the 20,000 requests/s a 2-core machine serves; runs under a second
/// rank the strategies by start-up and scheduling noise.
const DEFAULT_REQUESTS: u64 = 40_000;
const DEFAULT_SECONDS: u64 = 60;
const DEFAULT_CONNECTIONS: usize = 8;
const DEFAULT_PORT: u16 = 8080;
/// How long a stopping server waits for its connections to close before taking its figures.
const CHILD_DRAIN: Duration = Duration::from_secs(5);
const SERVE_ONLY_DRAIN: Duration = Duration::from_secs(1);

/// What the default mode's columns mean.
const LEGEND: &str = "\
Medians over the rounds, except requests (all rounds') and p50, p99 (over every request).
req/s, MB/s: requests completed and body bytes received, over the run's time.
p50, p99 ms: latency from sending a request to its body's last byte.
peak, after load, after sweeps: the server process's RSS, in MiB above its RSS before the
  first request: its peak; once the load stopped and its connections closed; after two
  sweeps of the pool (a sweep also asks glibc to give free memory back; fresh allocation has
  nothing to sweep).
allocated: body buffers the server allocated.
The pool's memory \"fell back\" if after the sweeps it is within a tenth of its peak, or
1 MiB, of the RSS before the first request. The per-round ratios in the verdict show the
run-to-run noise (other processes on the machine weigh on one run and not the next).";

const USAGE: &str = "\
usage: pool-http-example [--rounds R] [--requests N] [--seconds S] [--connections C] [--verbose]
       pool-http-example --serve-only [--seconds S] [--port P] [--strategy pool|fresh] [--verbose]
--requests: per run (one strategy in one round); --seconds: in all, shared equally by the runs
defaults: --rounds 5 --requests 40000 --seconds 60 --connections 8;
          --serve-only --seconds 60 --port 8080 --strategy pool";

/// The command line.
struct Options {
    serve_only: bool,
    /// `--child <strategy>`: this process is one strategy's server in the default mode.
    child: Option<Strategy>,
    rounds: usize,
    requests: u64,
    seconds: u64,
    connections: usize,
    port: u16,
    strategy: Strategy,
    verbose: bool,
}

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
        let mut options = Options {
            serve_only: false,
            child: None,
            rounds: DEFAULT_ROUNDS,
            requests: DEFAULT_REQUESTS,
            seconds: DEFAULT_SECONDS,
            connections: DEFAULT_CONNECTIONS,
            port: DEFAULT_PORT,
            strategy: Strategy::Pool,
            verbose: false,
        };
        while let Some(arg) = args.next() {
            let mut value = || args.next().ok_or(format!("{arg} needs a value"));
            match arg.as_str() {
                "--serve-only" => options.serve_only = true,
                "--verbose" => options.verbose = true,
                "--rounds" => options.rounds = number(&arg, &value()?)?,
                "--requests" => options.requests = number(&arg, &value()?)?,
                "--seconds" => options.seconds = number(&arg, &value()?)?,
                "--connections" => options.connections = number(&arg, &value()?)?,
                "--port" => options.port = number(&arg, &value()?)?,
                "--strategy" => options.strategy = strategy(&value()?)?,
                "--child" => options.child = Some(strategy(&value()?)?),
                _ => return Err(format!("unknown argument {arg}")),
            }
        }
        if options.connections == 0 || options.rounds == 0 {
            return Err("--connections and --rounds must be at least 1".into());
        }
        Ok(options)
    }
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag}: not a number: {value}"))
}

fn strategy(value: &str) -> Result<Strategy, String> {
    Strategy::parse(value).ok_or(format!("unknown strategy {value} (pool or fresh)"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|arg| arg == "--help" || arg == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let options = match Options::parse(args.into_iter()) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let outcome = if let Some(strategy) = options.child {
        child(strategy, options.verbose)
    } else if options.serve_only {
        serve_only(&options)
    } else {
        compare(&options)
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("pool-http-example: {failure}");
            ExitCode::FAILURE
        }
    }
}

/// `--serve-only`: serve for the given time, then print the figures.
fn serve_only(options: &Options) -> Result<(), Failure> {
    let server = Server::start(options.strategy, options.port)?;
    let addr = server.addr();
    println!(
        "serving {} bodies on http://{addr} for {} s (then it stops by itself), {} threads\n\
         \x20 GET /body/<bytes>  a body of that many bytes (at most {} MiB)\n\
         \x20 GET /random        a size from the story: 10 KB to 3 MB, log-normal, mean {:.0} KB\n\
         e.g. wrk -t2 -c8 -d10s http://{addr}/random",
        options.strategy.name(),
        options.seconds,
        std::thread::available_parallelism().map_or(1, usize::from),
        server::MAX_BODY >> 20,
        workload::sample_mean(100_000) / 1000.0,
    );
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(options.seconds));
    let report = server.stop(SERVE_ONLY_DRAIN);
    println!(
        "served {} requests in {:.1} s; connections still open at the end: {}, \
         ended with an error (a client that left mid-response): {}",
        report.served,
        started.elapsed().as_secs_f64(),
        report.still_open,
        report.broken,
    );
    println!(
        "RSS before any request {} MiB; above it: peak +{} MiB, after the load +{} MiB, \
         after two sweeps +{} MiB",
        mib(report.baseline as f64),
        mib(report.peak as f64),
        mib(report.after_load as f64),
        mib(report.after_sweeps as f64),
    );
    if report.stats.is_none() {
        println!("fresh allocation: the sweeps had nothing to sweep");
    }
    if let Some(stats) = &report.stats {
        println!(
            "pool: {} buffers created, {} reused; idle after the sweeps: {} buffers, {} bytes",
            stats.total.created, stats.total.reused, stats.total.idle, stats.total.idle_bytes,
        );
        if options.verbose {
            println!("{stats}");
        }
    }
    Ok(())
}

/// `--child`: one strategy's server for the default mode. Prints `LISTENING <port>`, serves
/// until its standard input says `stop` (or closes), then prints its figures on a `RESULT`
/// line.
fn child(strategy: Strategy, verbose: bool) -> Result<(), Failure> {
    let server = Server::start(strategy, 0)?;
    println!("LISTENING {}", server.addr().port());
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let report = server.stop(CHILD_DRAIN);
    let (created, reused) = report
        .stats
        .as_ref()
        .map_or((report.served, 0), |s| (s.total.created, s.total.reused));
    println!(
        "RESULT served={} baseline={} peak={} after_load={} after_sweeps={} created={created} \
         reused={reused} still_open={} broken={}",
        report.served,
        report.baseline,
        report.peak,
        report.after_load,
        report.after_sweeps,
        report.still_open,
        report.broken,
    );
    if let (true, Some(stats)) = (verbose, &report.stats) {
        eprintln!("{stats}");
    }
    Ok(())
}

/// One strategy's run: the client's figures and the server's (its `RESULT` line).
struct Run {
    client: Measured,
    server: Figures,
}

/// Starts `strategy`'s server in a child process, runs the load against it, stops it and
/// reads its figures.
fn run_strategy(exe: &Path, strategy: Strategy, load: Load, verbose: bool) -> Result<Run, Failure> {
    let mut command = Command::new(exe);
    command.args(["--child", strategy.arg()]);
    if verbose {
        command.arg("--verbose");
    }
    let mut server = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut stdout = BufReader::new(server.stdout.take().ok_or("no stdout")?);
    let mut line = String::new();
    stdout.read_line(&mut line)?;
    let port = line
        .strip_prefix("LISTENING ")
        .and_then(|port| port.trim().parse().ok());
    let client = match port {
        Some(port) => client::run(SocketAddr::from((Ipv4Addr::LOCALHOST, port)), load),
        None => Err(format!("the {} server did not start", strategy.arg()).into()),
    };
    // Stop the server whatever happened (a closed stdin stops it too).
    let mut stdin = server.stdin.take().ok_or("no stdin")?;
    let _ = writeln!(stdin, "stop");
    drop(stdin);
    let mut rest = String::new();
    stdout.read_to_string(&mut rest)?;
    let status = server.wait()?;
    let client = client?;
    let server = Figures::parse(&rest).ok_or(format!(
        "the {} server reported nothing ({status})",
        strategy.arg()
    ))?;
    for (key, what) in [
        (
            "still_open",
            "connections still open when its figures were taken",
        ),
        ("broken", "connections that ended with an error"),
    ] {
        if server.get(key) != 0.0 {
            println!(
                "note: {} server: {} {what}",
                strategy.arg(),
                server.get(key)
            );
        }
    }
    Ok(Run { client, server })
}

/// One strategy's rounds, summed up: medians over the rounds, latencies over every request.
struct Summary {
    completed: u64,
    rate: f64,
    megabytes_per_second: f64,
    /// Every request's latency, of every round, sorted.
    latencies: Vec<Duration>,
    peak: f64,
    after_load: f64,
    after_sweeps: f64,
    allocated: f64,
}

impl Summary {
    fn new(runs: &[Run]) -> Summary {
        let med = |f: &dyn Fn(&Run) -> f64| median(runs.iter().map(f).collect());
        let mut latencies: Vec<Duration> = runs
            .iter()
            .flat_map(|run| run.client.latencies.iter().copied())
            .collect();
        latencies.sort_unstable();
        Summary {
            completed: runs.iter().map(|run| run.client.completed).sum(),
            rate: med(&|run| run.client.rate()),
            megabytes_per_second: med(&|run| {
                run.client.bytes as f64 / 1e6 / run.client.elapsed.as_secs_f64()
            }),
            latencies,
            peak: med(&|run| run.server.get("peak")),
            after_load: med(&|run| run.server.get("after_load")),
            after_sweeps: med(&|run| run.server.get("after_sweeps")),
            allocated: med(&|run| run.server.get("created")),
        }
    }

    /// The `q` quantile of the latencies (nearest rank), in milliseconds.
    fn latency_ms(&self, q: f64) -> f64 {
        client::quantile(&self.latencies, q).as_secs_f64() * 1e3
    }
}

/// The default mode: both strategies in interleaved rounds, one row each, and the verdict.
fn compare(options: &Options) -> Result<(), Failure> {
    let runs_in_all = 2 * options.rounds;
    let load = Load {
        connections: options.connections,
        requests: options.requests,
        time_limit: Duration::from_secs(options.seconds) / runs_in_all as u32,
    };
    println!(
        "http proxy: tokio + hyper, HTTP/1.1 on 127.0.0.1; {} rounds, each running the pool's \
         server and then fresh allocation's (the order alternates), each server in a process of \
         its own\n\
         load per run: {} keep-alive connections, up to {} requests or {:.1} s ({} s in all); \
         every byte of every body checked\n\
         bodies: 10 KB to 3 MB, log-normal, mean {:.0} KB (seed {:#x})\n",
        options.rounds,
        load.connections,
        load.requests,
        load.time_limit.as_secs_f64(),
        options.seconds,
        workload::sample_mean(100_000) / 1000.0,
        proxy_workload::SEED,
    );
    let exe = std::env::current_exe()?;
    let mut runs: [Vec<Run>; 2] = [Vec::new(), Vec::new()];
    for round in 0..options.rounds {
        // Alternate which strategy runs first, so neither always meets a cold machine.
        for offset in 0..2 {
            let index = (round + offset) % 2;
            let run = run_strategy(&exe, Strategy::ALL[index], load, options.verbose)?;
            runs[index].push(run);
        }
    }
    // Each round's pool rate over the same round's fresh rate.
    let ratios: Vec<f64> = runs[0]
        .iter()
        .zip(&runs[1])
        .map(|(pool, fresh)| pool.client.rate() / fresh.client.rate())
        .collect();
    let shortest = runs
        .iter()
        .flatten()
        .map(|run| run.client.elapsed)
        .min()
        .unwrap_or_default();
    let [pool, fresh] = [Summary::new(&runs[0]), Summary::new(&runs[1])];

    println!(
        "{:<20} {:>8} {:>8} {:>7} {:>7} {:>7} {:>9} {:>10} {:>12} {:>9}",
        "strategy",
        "requests",
        "req/s",
        "MB/s",
        "p50 ms",
        "p99 ms",
        "peak MiB",
        "after load",
        "after sweeps",
        "allocated",
    );
    for (strategy, summary) in Strategy::ALL.iter().zip([&pool, &fresh]) {
        println!(
            "{:<20} {:>8} {:>8.0} {:>7.0} {:>7.2} {:>7.2} {:>9} {:>10} {:>12} {:>9}",
            strategy.name(),
            summary.completed,
            summary.rate,
            summary.megabytes_per_second,
            summary.latency_ms(0.50),
            summary.latency_ms(0.99),
            mib(summary.peak),
            mib(summary.after_load),
            mib(summary.after_sweeps),
            summary.allocated,
        );
    }
    println!("\n{LEGEND}");
    println!("\n{}", verdict(&pool, &fresh, &ratios, shortest));
    Ok(())
}

/// Which strategy was faster and by how much, and whether the pool's memory fell back.
fn verdict(pool: &Summary, fresh: &Summary, ratios: &[f64], shortest: Duration) -> String {
    let ratio = median(ratios.to_vec());
    let each: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
    let speed = if ratio >= 1.0 {
        format!(
            "the pool was faster, by {:.1}% ({ratio:.3}x the requests/s of fresh allocation",
            (ratio - 1.0) * 100.0
        )
    } else {
        format!(
            "fresh allocation was faster, by {:.1}% (the pool served {ratio:.3}x its requests/s",
            (1.0 / ratio - 1.0) * 100.0
        )
    };
    // "Fell back": the sweeps brought it within a tenth of its peak, or within 1 MiB (the
    // size of the allocator's and the runtime's own noise), of the RSS before the load.
    let fell = if pool.after_sweeps <= (0.1 * pool.peak).max(1024.0 * 1024.0) {
        "fell back"
    } else {
        "did not fall back"
    };
    // Under a second (a CI-sized run), start-up and scheduling dominate the rates.
    let short = if shortest < Duration::from_secs(1) {
        " A run took under a second: too short to rank the strategies' speed."
    } else {
        ""
    };
    format!(
        "verdict: {speed}, the median of the rounds' ratios: {}); pool vs fresh: {:.0} vs {:.0} \
         req/s, p50 {:.2} vs {:.2} ms, p99 {:.2} vs {:.2} ms. Peak RSS +{} MiB with the pool, \
         +{} MiB fresh. The pool's memory {fell} after the sweeps: +{} MiB once the load stopped, \
         +{} MiB after two sweeps ({:.0}% of its peak; fresh allocation: +{} MiB).{short}",
        each.join(" "),
        pool.rate,
        fresh.rate,
        pool.latency_ms(0.50),
        fresh.latency_ms(0.50),
        pool.latency_ms(0.99),
        fresh.latency_ms(0.99),
        mib(pool.peak),
        mib(fresh.peak),
        mib(pool.after_load),
        mib(pool.after_sweeps),
        100.0 * pool.after_sweeps / pool.peak,
        mib(fresh.after_sweeps),
    )
}
