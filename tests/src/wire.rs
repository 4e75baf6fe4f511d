//! Bytes on the wire: a TCP proxy on 127.0.0.1 that counts every byte
//! between a browser and the server in each direction (headers and bodies
//! as sent, after compression), and a plain keep-alive HTTP/1.1 connection
//! for posting request bodies the way a script would.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

/// What went through the proxy since the last [`Proxy::reset`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bytes {
    /// Browser to server.
    pub up: u64,
    /// Server to browser.
    pub down: u64,
}

impl Bytes {
    pub fn total(self) -> u64 {
        self.up + self.down
    }
}

#[derive(Default)]
struct Counters {
    up: AtomicU64,
    down: AtomicU64,
}

/// Listens on its own port and forwards each connection to `target`,
/// counting bytes. Dropped, it stops accepting; open connections end with
/// their peers.
pub struct Proxy {
    pub url: String,
    counters: Arc<Counters>,
    accept: JoinHandle<()>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let counters = Arc::new(Counters::default());
        let shared = counters.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let counters = shared.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(target).await else {
                        return;
                    };
                    // No Nagle on either leg: the proxy must not add delay.
                    client.set_nodelay(true).ok();
                    server.set_nodelay(true).ok();
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    tokio::join!(
                        pipe(client_read, server_write, &counters.up),
                        pipe(server_read, client_write, &counters.down),
                    );
                });
            }
        });
        Self {
            url,
            counters,
            accept,
        }
    }

    /// Starts counting from zero.
    pub fn reset(&self) {
        self.counters.up.store(0, Ordering::SeqCst);
        self.counters.down.store(0, Ordering::SeqCst);
    }

    pub fn bytes(&self) -> Bytes {
        Bytes {
            up: self.counters.up.load(Ordering::SeqCst),
            down: self.counters.down.load(Ordering::SeqCst),
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Copies one direction until it closes, counting as it goes; then closes
/// the other side's write half, so a half-close passes through.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    count: &AtomicU64,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                count.fetch_add(n as u64, Ordering::SeqCst);
                if to.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
    to.shutdown().await.ok();
}

/// One keep-alive HTTP/1.1 connection: requests go one at a time, each
/// answer read whole (by its `Content-Length`) before the next is sent.
pub struct Connection {
    host: String,
    stream: BufReader<TcpStream>,
}

/// An answer: status and body.
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Connection {
    pub async fn open(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        Self {
            host: addr.to_string(),
            stream: BufReader::new(stream),
        }
    }

    /// `POST path` with a JSON body and extra headers; fails after `patience`.
    pub async fn post_json(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        patience: Duration,
    ) -> Result<Response, String> {
        tokio::time::timeout(patience, self.exchange(path, headers, body))
            .await
            .map_err(|_| format!("POST {path}: no answer within {patience:?}"))?
    }

    async fn exchange(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Response, String> {
        let io = |e: std::io::Error| format!("POST {path}: {e}");
        let mut head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n",
            self.host,
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let stream = self.stream.get_mut();
        stream.write_all(head.as_bytes()).await.map_err(io)?;
        stream.write_all(body).await.map_err(io)?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await.map_err(io)?;
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("POST {path}: not an HTTP answer: {line:?}"))?;
        let mut length = None;
        loop {
            line.clear();
            self.stream.read_line(&mut line).await.map_err(io)?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse::<usize>().ok();
            }
        }
        let length =
            length.ok_or_else(|| format!("POST {path}: an answer without Content-Length"))?;
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await.map_err(io)?;
        Ok(Response { status, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo server behind the proxy: what goes up comes back down, and
    /// both directions are counted byte for byte.
    #[tokio::test]
    async fn the_proxy_counts_both_directions() {
        let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = echo.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = echo.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            loop {
                let n = s.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                s.write_all(&buf[..n]).await.unwrap();
                s.write_all(b"!").await.unwrap();
            }
        });
        let proxy = Proxy::start(target).await;
        let addr: SocketAddr = proxy.url.trim_start_matches("http://").parse().unwrap();
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"hello").await.unwrap();
        let mut got = [0u8; 6];
        c.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"hello!");
        assert_eq!(proxy.bytes(), Bytes { up: 5, down: 6 });
        proxy.reset();
        c.write_all(b"ab").await.unwrap();
        let mut got = [0u8; 3];
        c.read_exact(&mut got).await.unwrap();
        assert_eq!(proxy.bytes().total(), 5);
    }
}
