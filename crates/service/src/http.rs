//! A small HTTP/1.1 server: one thread per connection, one request per
//! connection, requests parsed with `httparse`, bodies up to a limit, and
//! responses that may stream (server-sent events).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The largest request body accepted (a job file is a few kilobytes).
pub const MAX_BODY: usize = 1 << 20;
/// The largest request head accepted.
const MAX_HEAD: usize = 64 << 10;
/// Connections served at once; more get 503.
const MAX_CONNECTIONS: usize = 256;

/// A request, read whole.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// `GET`, `POST`...
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query's parameters, decoded.
    pub query: Vec<(String, String)>,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// A header's value (the name in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A streaming body: writes until it is done or the client goes away.
pub type Stream = Box<dyn FnOnce(&mut dyn Write) -> std::io::Result<()> + Send>;

/// What a handler answers.
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The content type.
    pub content_type: String,
    /// More headers.
    pub headers: Vec<(String, String)>,
    /// The body, whole.
    pub body: Vec<u8>,
    /// A streamed body, written after the head (no length, the connection
    /// closes at its end).
    pub stream: Option<Stream>,
}

impl Response {
    /// A response with `body` of type `content_type`.
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            content_type: content_type.to_owned(),
            headers: Vec::new(),
            body: body.into(),
            stream: None,
        }
    }

    /// JSON.
    pub fn json(status: u16, value: &serde_json::Value) -> Response {
        let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
        text.push('\n');
        Response::new(status, "application/json", text)
    }

    /// An error as JSON: `{"error": message}` plus `field` when given.
    pub fn error(status: u16, field: Option<&str>, message: &str) -> Response {
        let mut value = serde_json::json!({ "error": message });
        if let Some(field) = field {
            value["field"] = field.into();
        }
        Response::json(status, &value)
    }

    /// HTML.
    pub fn html(body: String) -> Response {
        Response::new(200, "text/html; charset=utf-8", body)
    }

    /// Plain text.
    pub fn text(status: u16, body: String) -> Response {
        Response::new(status, "text/plain; charset=utf-8", body)
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// Handles requests.
pub type Handler = Arc<dyn Fn(Request) -> Response + Send + Sync>;

/// Serves `listener` with `handler` until `stop` is set.
pub fn serve(listener: TcpListener, handler: Handler, stop: Arc<AtomicBool>) {
    let open = Arc::new(AtomicUsize::new(0));
    let _ = listener.set_nonblocking(true);
    while !stop.load(Ordering::SeqCst) {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            Err(_) => continue,
        };
        let _ = stream.set_nonblocking(false);
        if open.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            open.fetch_sub(1, Ordering::SeqCst);
            let mut stream = stream;
            let _ = write_response(&mut stream, Response::text(503, "busy\n".into()));
            continue;
        }
        let handler = handler.clone();
        let slot = Slot(open.clone());
        std::thread::spawn(move || {
            let _slot = slot;
            connection(stream, &handler);
        });
    }
}

/// A connection's place in the count, given back however its thread ends.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn connection(mut stream: TcpStream, handler: &Handler) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(15)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
    let response = match read_request(&mut stream) {
        Ok(request) => handler(request),
        Err(response) => response,
    };
    let _ = write_response(&mut stream, response);
}

/// Reads one request; a malformed one is answered with the response given.
pub fn read_request(stream: &mut impl Read) -> Result<Request, Response> {
    let mut buffer = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = find(&buffer, b"\r\n\r\n") {
            break end + 4;
        }
        if buffer.len() > MAX_HEAD {
            return Err(Response::text(431, "request head too large\n".into()));
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return Err(Response::text(400, "incomplete request\n".into())),
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    };
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Request::new(&mut headers);
    match parsed.parse(&buffer[..head_end]) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return Err(Response::text(400, "malformed request\n".into())),
    }
    let (Some(method), Some(target)) = (parsed.method, parsed.path) else {
        return Err(Response::text(400, "malformed request\n".into()));
    };
    let mut request = Request {
        method: method.to_owned(),
        ..Request::default()
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    request.path = percent_decode(path);
    request.query = parse_query(query);
    for h in parsed.headers.iter() {
        let value = String::from_utf8_lossy(h.value).into_owned();
        request.headers.push((h.name.to_ascii_lowercase(), value));
    }
    if request.header("transfer-encoding").is_some() {
        return Err(Response::text(411, "send a Content-Length\n".into()));
    }
    let length = match request.header("content-length") {
        None => 0,
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if n <= MAX_BODY => n,
            Ok(_) => return Err(Response::text(413, "request body too large\n".into())),
            Err(_) => return Err(Response::text(400, "bad Content-Length\n".into())),
        },
    };
    let mut body = buffer[head_end..].to_vec();
    while body.len() < length {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return Err(Response::text(400, "incomplete body\n".into())),
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    body.truncate(length);
    request.body = body;
    Ok(request)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Writes a response, then its stream if it has one.
pub fn write_response(stream: &mut impl Write, response: Response) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nConnection: close\r\n",
        response.status,
        reason(response.status),
        response.content_type
    );
    if response.stream.is_none() {
        head.push_str(&format!("Content-Length: {}\r\n", response.body.len()));
    }
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(&response.body)?;
    stream.flush()?;
    if let Some(body) = response.stream {
        body(stream)?;
        stream.flush()?;
    }
    Ok(())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        303 => "See Other",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

/// `a=1&b=x%20y` as pairs.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Decodes `%XX` and `+` (as a space).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_read_whole_with_query_and_body() {
        let raw =
            b"POST /api/jobs?a=x%20y&b=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
        let r = read_request(&mut &raw[..]).unwrap_or_default();
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/api/jobs"));
        assert_eq!(r.param("a"), Some("x y"));
        assert_eq!(r.header("host"), Some("h"));
        assert_eq!(r.body, b"hello");
    }

    #[test]
    fn malformed_requests_get_a_status_not_a_panic() {
        let cases: [(&[u8], u16); 4] = [
            (
                b"GET / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n",
                413,
            ),
            (b"\x00\x01garbage\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort", 400),
            (b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411),
        ];
        for (raw, status) in cases {
            match read_request(&mut &raw[..]) {
                Ok(r) => panic!("accepted {r:?}"),
                Err(response) => assert_eq!(response.status, status),
            }
        }
    }

    #[test]
    fn percent_decoding_keeps_bad_escapes() {
        assert_eq!(percent_decode("a%2Fb"), "a/b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%4"), "%4");
    }
}
