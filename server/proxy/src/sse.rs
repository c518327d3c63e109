//! Incremental server-sent-events splitting. Only the HTTP layer knows about SSE: it cuts the
//! byte stream into events and hands `(event name, data)` to the provider's parser. Bytes are
//! forwarded as they arrive; the splitter only keeps the tail of an event not yet complete.

/// One complete event: its raw bytes (including the terminating blank line), the `event:`
/// name and the joined `data:` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub raw: Vec<u8>,
    pub event: Option<String>,
    pub data: String,
}

/// Above this, an event is not parsed (its bytes still pass through).
const MAX_EVENT: usize = 32 * 1024 * 1024;

#[derive(Debug, Default)]
pub struct SseSplitter {
    buf: Vec<u8>,
    /// Set when an event grew past `MAX_EVENT`: the rest of it is skipped.
    overflowed: bool,
}

impl SseSplitter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed bytes; `out` receives every event completed by them, in order.
    pub fn push(&mut self, chunk: &[u8], mut out: impl FnMut(SseEvent)) {
        let mut start_scan = self.buf.len().saturating_sub(2);
        self.buf.extend_from_slice(chunk);
        while let Some(end) = find_boundary(&self.buf, start_scan) {
            let raw: Vec<u8> = self.buf.drain(..end).collect();
            start_scan = 0;
            if std::mem::take(&mut self.overflowed) {
                continue;
            }
            out(parse_event(raw));
        }
        if self.buf.len() > MAX_EVENT {
            self.overflowed = true;
            self.buf.clear();
        }
    }

    /// Bytes of an event not yet terminated.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    pub fn take_pending(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }
}

/// Index just past the first blank line (`\n\n`, `\n\r\n` or `\r\r`) at or after `from`.
fn find_boundary(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i + 1 < buf.len() {
        match (buf[i], buf[i + 1]) {
            (b'\n', b'\n') => return Some(i + 2),
            (b'\n', b'\r') if buf.get(i + 2) == Some(&b'\n') => return Some(i + 3),
            (b'\r', b'\r') => return Some(i + 2),
            _ => i += 1,
        }
    }
    None
}

fn parse_event(raw: Vec<u8>) -> SseEvent {
    let text = String::from_utf8_lossy(&raw);
    let mut event = None;
    let mut data = String::new();
    let mut has_data = false;
    for line in text.split(['\n', '\r']) {
        if line.is_empty() || line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.find(':') {
            Some(i) => (&line[..i], line[i + 1..].strip_prefix(' ').unwrap_or(&line[i + 1..])),
            None => (line, ""),
        };
        match field {
            "event" => event = Some(value.to_string()),
            "data" => {
                if has_data {
                    data.push('\n');
                }
                data.push_str(value);
                has_data = true;
            }
            _ => {}
        }
    }
    SseEvent { raw, event, data }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut s = SseSplitter::new();
        let mut out = Vec::new();
        for c in chunks {
            s.push(c, |e| out.push(e));
        }
        out
    }

    #[test]
    fn splits_events_across_arbitrary_chunk_boundaries() {
        let stream = b"event: message_start\ndata: {\"a\":1}\n\nevent: ping\ndata: {}\n\ndata: [DONE]\n\n";
        let whole = split_all(&[stream]);
        assert_eq!(whole.len(), 3);
        assert_eq!(whole[0].event.as_deref(), Some("message_start"));
        assert_eq!(whole[0].data, "{\"a\":1}");
        assert_eq!(whole[2].event, None);
        assert_eq!(whole[2].data, "[DONE]");
        // every split point gives the same events and the same raw bytes
        for cut in 0..stream.len() {
            let parts = split_all(&[&stream[..cut], &stream[cut..]]);
            assert_eq!(parts, whole, "cut at {cut}");
        }
        let raw: Vec<u8> = whole.iter().flat_map(|e| e.raw.clone()).collect();
        assert_eq!(raw, stream);
    }

    #[test]
    fn crlf_multiline_data_and_comments() {
        let ev = split_all(&[b": keepalive\r\n\r\nevent: x\r\ndata: a\r\ndata: b\r\n\r\n"]);
        assert_eq!(ev.len(), 2);
        assert_eq!(ev[1].event.as_deref(), Some("x"));
        assert_eq!(ev[1].data, "a\nb");
    }

    #[test]
    fn incomplete_tail_is_pending() {
        let mut s = SseSplitter::new();
        let mut n = 0;
        s.push(b"data: 1\n\ndata: 2", |_| n += 1);
        assert_eq!(n, 1);
        assert_eq!(s.pending(), b"data: 2");
    }
}
