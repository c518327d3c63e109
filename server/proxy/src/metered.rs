//! The response body relayed to the client. Bytes go out as they arrive from the upstream;
//! on the way the provider parser reads usage (SSE events cut by the HTTP layer, or a JSON
//! body). When the response ends, the request is priced and made safe from a crash (spooled
//! for the ledger, see `writer.rs`) before the client sees the end of the response, so a
//! completed response is never lost. A body
//! dropped or failed midway is recorded as incomplete with what was seen.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::task::JoinHandle;

use crate::composition::Measured;
use crate::providers::{EventAction, ResponseParser};
use crate::record::{RequestFacts, ResponseFacts, build};
use crate::sse::SseSplitter;
use crate::{App, BoxError};

/// Largest JSON body kept for parsing (larger ones pass through unparsed).
const MAX_JSON: usize = 64 * 1024 * 1024;

pub enum Mode {
    Sse(SseSplitter),
    Json(Vec<u8>),
}

pub struct Meter {
    pub app: Arc<App>,
    pub facts: RequestFacts,
    pub t0: Instant,
    pub status: u16,
    pub parser: Box<dyn ResponseParser>,
    pub mode: Mode,
    /// Rewrite the stream (take out the usage the proxy asked for).
    pub strip: bool,
    pub composition: Option<JoinHandle<Option<Measured>>>,
    pub reservation: Option<u64>,
    pub bytes_out: u64,
    pub ttft_ms: Option<f64>,
    pub json_overflow: bool,
    pub error: Option<String>,
    /// Response bytes kept for text capture (`capture_text`), up to `MAX_CAPTURE`.
    pub capture: Option<Vec<u8>>,
}

/// Most response bytes kept per request when text capture is on.
pub const MAX_CAPTURE: usize = 1024 * 1024;

impl Meter {
    /// Read a chunk; returns the bytes to send to the client.
    fn feed(&mut self, data: Bytes) -> Bytes {
        if self.ttft_ms.is_none() && !data.is_empty() {
            self.ttft_ms = Some(self.t0.elapsed().as_secs_f64() * 1e3);
        }
        let out = match &mut self.mode {
            Mode::Sse(splitter) => {
                if self.strip {
                    let parser = &mut self.parser;
                    let mut out = Vec::with_capacity(data.len());
                    splitter.push(&data, |ev| {
                        match parser.on_event(ev.event.as_deref(), &ev.data, &ev.raw) {
                            EventAction::Pass => out.extend_from_slice(&ev.raw),
                            EventAction::Drop => {}
                            EventAction::Replace(b) => out.extend_from_slice(&b),
                        }
                    });
                    Bytes::from(out)
                } else {
                    let parser = &mut self.parser;
                    splitter.push(&data, |ev| {
                        parser.on_event(ev.event.as_deref(), &ev.data, &ev.raw);
                    });
                    data
                }
            }
            Mode::Json(buf) => {
                if !self.json_overflow {
                    if buf.len() + data.len() > MAX_JSON {
                        self.json_overflow = true;
                        buf.clear();
                        buf.shrink_to_fit();
                    } else {
                        buf.extend_from_slice(&data);
                    }
                }
                data
            }
        };
        self.bytes_out += out.len() as u64;
        if let Some(c) = self.capture.as_mut() {
            let room = MAX_CAPTURE.saturating_sub(c.len());
            c.extend_from_slice(&out[..out.len().min(room)]);
        }
        out
    }

    /// Bytes still held back at the end (an unterminated last event of a rewritten stream).
    fn flush(&mut self) -> Option<Bytes> {
        match &mut self.mode {
            Mode::Sse(s) if self.strip && !s.pending().is_empty() => {
                let b = Bytes::from(s.take_pending());
                self.bytes_out += b.len() as u64;
                Some(b)
            }
            _ => None,
        }
    }

    /// Price, commit, publish, settle. `complete`: the response ended normally.
    fn finish(mut self, complete: bool) -> impl Future<Output = ()> + Send + 'static {
        if let Mode::Json(buf) = &self.mode
            && !self.json_overflow
            && !buf.is_empty()
        {
            self.parser.on_json(buf);
        }
        // A client that hangs up right after the provider's terminal event got everything.
        let complete = complete || self.parser.observed().finished;
        if complete {
            self.error = None;
        }
        let latency_ms = self.t0.elapsed().as_secs_f64() * 1e3;
        self.app.metrics.open_streams.fetch_sub(1, Ordering::Relaxed);
        async move {
            let measured = match self.composition.take() {
                Some(h) => h.await.ok().flatten(),
                None => None,
            };
            let resp = ResponseFacts {
                status: self.status,
                complete,
                latency_ms,
                ttft_ms: self.ttft_ms,
                bytes_out: self.bytes_out,
                error: self.error.take(),
                captured_response: self.capture.take().map(|c| String::from_utf8_lossy(&c).into_owned()),
            };
            let record = build(
                &self.app.catalog,
                &self.facts,
                self.parser.observed(),
                measured.as_ref(),
                &resp,
            );
            self.app
                .calibration
                .observe(&self.app.catalog, &record, measured.as_ref());
            commit_and_publish(&self.app, record, self.reservation).await;
        }
    }
}

/// Count and settle a finished request, then hand its record to the ledger writer: released
/// once it is safe from a crash (spooled, or committed), see `writer.rs`. The feed publishes
/// it once committed.
pub async fn commit_and_publish(app: &Arc<App>, record: promptmeter_ledger::RequestRecord, reservation: Option<u64>) {
    app.metrics.record(&record);
    app.policy.settle(&record, reservation);
    app.writer.write(record).wait().await;
}

type Pending = Pin<Box<dyn Future<Output = ()> + Send>>;

pub struct MeteredBody {
    inner: Incoming,
    meter: Option<Box<Meter>>,
    committing: Option<Pending>,
    /// What to hand the client once the commit is done: a last frame, or the end.
    held: Option<Option<Frame<Bytes>>>,
    done: bool,
}

impl MeteredBody {
    pub fn new(inner: Incoming, meter: Meter) -> Self {
        meter.app.metrics.open_streams.fetch_add(1, Ordering::Relaxed);
        MeteredBody {
            inner,
            meter: Some(Box::new(meter)),
            committing: None,
            held: None,
            done: false,
        }
    }
}

impl Body for MeteredBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        loop {
            if let Some(fut) = this.committing.as_mut() {
                match fut.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(()) => {
                        this.committing = None;
                        let held = this.held.take().flatten();
                        if held.is_none() {
                            this.done = true;
                        }
                        return Poll::Ready(held.map(Ok));
                    }
                }
            }
            if this.done {
                return Poll::Ready(None);
            }
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(frame))) => {
                    let mut finished = false;
                    let frame = match (frame.into_data(), this.meter.as_mut()) {
                        (Ok(data), Some(m)) => {
                            let out = m.feed(data);
                            finished = m.parser.observed().finished && matches!(m.mode, Mode::Sse(_));
                            if out.is_empty() && !this.inner.is_end_stream() && !finished {
                                continue;
                            }
                            Frame::data(out)
                        }
                        (Ok(data), None) => Frame::data(data),
                        (Err(frame), _) => frame,
                    };
                    if this.inner.is_end_stream() || finished {
                        // The upstream is done (or sent its terminal event, after which clients
                        // stop reading): commit before the client gets these last bytes.
                        if let Some(mut m) = this.meter.take() {
                            let tail = m.flush();
                            this.committing = Some(Box::pin(m.finish(true)));
                            let frame = match (tail, frame.into_data()) {
                                (Some(t), Ok(d)) => Frame::data([d, t].concat().into()),
                                (None, Ok(d)) => Frame::data(d),
                                (_, Err(f)) => f,
                            };
                            this.held = Some(Some(frame));
                            continue;
                        }
                    }
                    return Poll::Ready(Some(Ok(frame)));
                }
                Poll::Ready(Some(Err(e))) => {
                    if let Some(mut m) = this.meter.take() {
                        m.error = Some("upstream_body_error".into());
                        spawn(m.finish(false));
                    }
                    this.done = true;
                    return Poll::Ready(Some(Err(Box::new(e))));
                }
                Poll::Ready(None) => match this.meter.take() {
                    Some(mut m) => {
                        let tail = m.flush();
                        this.committing = Some(Box::pin(m.finish(true)));
                        this.held = Some(tail.map(Frame::data));
                        continue;
                    }
                    None => {
                        this.done = true;
                        return Poll::Ready(None);
                    }
                },
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }

    fn size_hint(&self) -> SizeHint {
        match self.meter.as_ref() {
            Some(m) if m.strip => SizeHint::default(),
            _ => self.inner.size_hint(),
        }
    }
}

fn spawn(fut: impl Future<Output = ()> + Send + 'static) {
    if let Ok(h) = tokio::runtime::Handle::try_current() {
        h.spawn(fut);
    }
}

impl Drop for MeteredBody {
    fn drop(&mut self) {
        // The client went away (or the connection broke) before the response ended.
        if let Some(mut m) = self.meter.take() {
            m.error.get_or_insert_with(|| "client_disconnected".into());
            spawn(m.finish(false));
        }
        // A commit started but not awaited by the client still runs to its end.
        if let Some(fut) = self.committing.take() {
            spawn(fut);
        }
    }
}
