//! The HTTP server: hyper (HTTP/1.1) on tokio, serving an axum router.
//! Connections are tasks, not threads: thousands of open event streams
//! and slow clients cost memory, not the service. A client must send its
//! request head within [`Limits::header_timeout`] (also the most a
//! kept-alive connection idles) and its body within
//! [`Limits::body_timeout`]; one client address holds at most
//! [`Limits::per_client`] connections, and the server
//! [`Limits::max_connections`]; more are answered `429`/`503` and closed.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// How much the server lets one client hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The most time a client takes to send a request's head.
    pub header_timeout: Duration,
    /// The most time a client takes to send a request's body.
    pub body_timeout: Duration,
    /// The most connections one client address holds at once.
    pub per_client: usize,
    /// The most connections at once.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            per_client: 256,
            max_connections: 8192,
        }
    }
}

/// The largest request body accepted (a job file is a few kilobytes).
pub const MAX_BODY: usize = 1 << 20;

/// Connections held, by client address.
#[derive(Default)]
struct Clients {
    held: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// A connection's place in the counts, given back when it closes.
struct Slot {
    clients: Arc<Clients>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut held) = self.clients.held.lock() {
            held.0 -= 1;
            if let Some(n) = held.1.get_mut(&self.ip) {
                *n -= 1;
                if *n == 0 {
                    held.1.remove(&self.ip);
                }
            }
        }
    }
}

/// Why a connection is refused.
enum Refusal {
    /// The client holds its share.
    Client,
    /// The server holds all it can.
    Server,
}

impl Clients {
    fn admit(self: &Arc<Self>, ip: IpAddr, limits: &Limits) -> Result<Slot, Refusal> {
        let Ok(mut held) = self.held.lock() else {
            return Err(Refusal::Server);
        };
        if held.0 >= limits.max_connections {
            return Err(Refusal::Server);
        }
        let mine = held.1.entry(ip).or_insert(0);
        if *mine >= limits.per_client {
            return Err(Refusal::Client);
        }
        *mine += 1;
        held.0 += 1;
        Ok(Slot {
            clients: self.clone(),
            ip,
        })
    }
}

/// Lets this process hold as many connections as the system allows it (a
/// soft limit of 1,024 files is common, and each connection is one).
pub fn raise_open_files() {
    // SAFETY: getrlimit/setrlimit on a plain struct of ours.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// Serves `app` on `listener` until `stop` completes.
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    limits: Limits,
    stop: impl Future<Output = ()>,
) {
    let clients = Arc::new(Clients::default());
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            () = &mut stop => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, most likely: let some close.
                tracing::warn!(error = %e, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        match clients.admit(peer.ip(), &limits) {
            Ok(slot) => {
                let service = TowerToHyperService::new(app.clone());
                tokio::spawn(async move {
                    let _slot = slot;
                    let mut builder = hyper::server::conn::http1::Builder::new();
                    builder
                        .timer(TokioTimer::new())
                        .header_read_timeout(limits.header_timeout)
                        .keep_alive(true);
                    let connection = builder.serve_connection(TokioIo::new(stream), service);
                    if let Err(e) = connection.await {
                        tracing::debug!(client = %peer, error = %e, "connection ended");
                    }
                });
            }
            Err(refusal) => {
                tokio::spawn(refuse(stream, refusal));
            }
        }
    }
}

/// Answers a connection refused, without reading its request.
async fn refuse(mut stream: TcpStream, refusal: Refusal) {
    let (status, text) = match refusal {
        Refusal::Client => (
            "429 Too Many Requests",
            "too many connections from your address\n",
        ),
        Refusal::Server => ("503 Service Unavailable", "too many connections\n"),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_holds_its_share_and_gets_it_back() {
        let clients = Arc::new(Clients::default());
        let limits = Limits {
            per_client: 2,
            max_connections: 3,
            ..Limits::default()
        };
        let (a, b): (IpAddr, IpAddr) = ([127, 0, 0, 2].into(), [127, 0, 0, 3].into());
        let first = clients.admit(a, &limits).ok();
        let second = clients.admit(a, &limits).ok();
        assert!(first.is_some() && second.is_some());
        assert!(matches!(clients.admit(a, &limits), Err(Refusal::Client)));
        let other = clients.admit(b, &limits).ok();
        assert!(other.is_some());
        assert!(matches!(clients.admit(b, &limits), Err(Refusal::Server)));
        drop(first);
        assert!(clients.admit(a, &limits).is_ok());
    }
}
