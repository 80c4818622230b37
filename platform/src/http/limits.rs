//! What one client may hold of the server: how long it may take to send its headers and its
//! body, and how many connections all clients together may keep open.
//!
//! `axum::serve` has no timeouts and no cap: a connection that sends half its headers, or a body
//! one byte a minute, is served for as long as the client likes, and every such connection costs
//! a task and a file descriptor. [`serve`] is the platform's own accept loop on hyper's
//! connection builder: the header read timeout is hyper's (it needs a timer, which `axum::serve`
//! does not give it), the connection cap a semaphore the accept loop waits on (so the kernel's
//! backlog, not the process, holds the excess), and each request carries its peer's address as
//! [`ConnectInfo`] (the console throttles logins by it; behind a reverse proxy,
//! [`forwarded_client`] puts the address the proxy saw there instead). The body deadline is the layer
//! [`body_deadline`]: one deadline for the whole body, not an idle timeout a client can reset by
//! trickling a byte at a time. Over TLS ([`serve_tls`]) the handshake happens in the
//! connection's own task, within the header timeout, so a slow handshake holds neither the
//! accept loop nor a slot for long.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::Response;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

/// The server's limits (`serve --header-timeout --body-timeout --max-connections`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// How long a client may take to send a request's headers (the first request of a
    /// connection, and each next one once it starts).
    pub header_timeout: Duration,
    /// How long a client may take to send a whole request body.
    pub body_timeout: Duration,
    /// Connections served at once; the next waits in the listen backlog.
    pub max_connections: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(60),
            max_connections: 20_000,
        }
    }
}

/// Serves `app` on `listener` within `limits` until `shutdown` completes, then lets the
/// requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    accept_loop(listener, app, limits, None, shutdown).await
}

/// [`serve`] over TLS: each connection's handshake must complete within the header timeout
/// (a client that stalls it holds a connection slot no longer than one that stalls its
/// headers), then the same limits hold for its requests.
pub async fn serve_tls(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    tls: TlsAcceptor,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    accept_loop(listener, app, limits, Some(tls), shutdown).await
}

async fn accept_loop(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let app = app.layer(axum::middleware::from_fn_with_state(
        limits.body_timeout,
        body_deadline,
    ));
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let connections = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => permit,
            () = &mut shutdown => break,
        };
        let Ok(permit) = permit else { break };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = PeerService {
            app: app.clone(),
            peer,
        };
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let handshake_timeout = limits.header_timeout;
        let tls = tls.clone();
        tokio::spawn(async move {
            // A client that goes away, times out or fails its handshake ends its connection;
            // nothing to report.
            match tls {
                None => {
                    let connection = builder
                        .serve_connection_with_upgrades(TokioIo::new(stream), service)
                        .into_owned();
                    let _ = watcher.watch(connection).await;
                }
                Some(tls) => {
                    let handshake = tokio::time::timeout(handshake_timeout, tls.accept(stream));
                    if let Ok(Ok(stream)) = handshake.await {
                        let connection = builder
                            .serve_connection_with_upgrades(TokioIo::new(stream), service)
                            .into_owned();
                        let _ = watcher.watch(connection).await;
                    }
                }
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// The router for one connection, which stamps each request with the peer's address.
#[derive(Clone)]
struct PeerService {
    app: Router,
    peer: SocketAddr,
}

impl hyper::service::Service<hyper::Request<hyper::body::Incoming>> for PeerService {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Self::Error>> + Send>>;

    fn call(&self, request: hyper::Request<hyper::body::Incoming>) -> Self::Future {
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let mut app = self.app.clone();
        Box::pin(async move { tower_service::Service::call(&mut app, request).await })
    }
}

/// Layer: behind a reverse proxy every connection comes from the proxy, so a request whose
/// peer is one of `proxies` is taken to come from the address the proxy appended last to
/// `X-Forwarded-For` (the one it saw; entries before it are the client's say and ignored).
/// From anyone else the header is ignored: a client cannot pick its own address.
pub async fn forwarded_client(
    axum::extract::State(proxies): axum::extract::State<Arc<[IpAddr]>>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| *peer);
    if let Some(peer) = peer
        && proxies.contains(&peer.ip())
        && let Some(client) = last_forwarded(request.headers())
    {
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(client, peer.port())));
    }
    next.run(request).await
}

/// The last address of the last `X-Forwarded-For` header, if it is one.
fn last_forwarded(headers: &axum::http::HeaderMap) -> Option<IpAddr> {
    let last = headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()?
        .to_str()
        .ok()?
        .rsplit(',')
        .next()?
        .trim();
    last.parse::<IpAddr>()
        .ok()
        .or_else(|| last.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

/// Layer: the request's body must arrive whole within `deadline` of its headers; past that,
/// reading it fails (the handler's extractor answers as for any unreadable body)
/// and hyper closes the connection.
pub async fn body_deadline(
    axum::extract::State(deadline): axum::extract::State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let request = request.map(|body| {
        Body::new(DeadlineBody {
            inner: body,
            deadline: Box::pin(tokio::time::sleep(deadline)),
        })
    });
    next.run(request).await
}

/// A body that fails once its deadline passes.
struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

/// Why a body stopped being read.
#[derive(Debug, thiserror::Error)]
#[error("the request body was not sent within the server's body timeout")]
struct BodyTimedOut;

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimedOut)))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proxys_own_entry_is_the_last_one() {
        let mut headers = axum::http::HeaderMap::new();
        headers.append(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.7".parse().unwrap(),
        );
        assert_eq!(last_forwarded(&headers), "198.51.100.7".parse().ok());
        headers.append("x-forwarded-for", "[2001:db8::1]:4711".parse().unwrap());
        assert_eq!(last_forwarded(&headers), "2001:db8::1".parse().ok());
        headers.insert("x-forwarded-for", "unknown".parse().unwrap());
        assert_eq!(last_forwarded(&headers), None);
    }
}
