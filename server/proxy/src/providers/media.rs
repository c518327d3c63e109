//! Images and documents inside requests. Their base64 bytes are not text the model reads: an
//! image costs what its provider charges for its size, a PDF what its pages cost. So a
//! screenshot in a tool result takes its real share of the context window, not the share of
//! a megabyte of base64 counted as text.
//!
//! Estimates, by each provider's published rule (they are scaled with the rest of the
//! composition to the provider-reported input count):
//! - Anthropic: images scaled to fit 1568 px on the long edge and ~1,600 tokens, then
//!   width x height / 750; PDF pages about 2,250 tokens (text plus the page image).
//! - OpenAI: images (`detail` high or auto) fit in 2048 x 2048, then the short side at most
//!   768 px; 85 + 170 per 512 px tile; `detail: low` 85. PDF pages about 1,500.
//! - Gemini: an image of at most 384 x 384 px is 258 tokens, a larger one 258 per tile (tiles
//!   of a side between 256 and 768 px); PDF pages 258.
//!
//! An image whose size cannot be read (a URL, a file id, an unknown format) is taken as
//! 1024 x 1024; a PDF whose pages cannot be counted as one page; audio and other binary parts
//! count nothing.

use base64::Engine;
use serde_json::Value;

/// Whose rule prices an image or a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Anthropic,
    OpenAi,
    Gemini,
}

const DEFAULT_SIDE: u64 = 1024;

impl Rule {
    fn image(self, width: u64, height: u64, low_detail: bool) -> u64 {
        let (w, h) = (width.max(1) as f64, height.max(1) as f64);
        match self {
            Rule::Anthropic => {
                let mut scale = (1568.0 / w.max(h)).min(1.0);
                let pixels = w * h * scale * scale;
                // and at most ~1,600 tokens
                if pixels > 1_200_000.0 {
                    scale *= (1_200_000.0 / pixels).sqrt();
                }
                ((w * scale).round() * (h * scale).round() / 750.0).ceil() as u64
            }
            Rule::OpenAi if low_detail => 85,
            Rule::OpenAi => {
                let fit = (2048.0 / w.max(h)).min(1.0);
                let (w, h) = (w * fit, h * fit);
                let short = (768.0 / w.min(h)).min(1.0);
                let (w, h) = (w * short, h * short);
                85 + 170 * ((w / 512.0).ceil() * (h / 512.0).ceil()) as u64
            }
            Rule::Gemini => {
                if w <= 384.0 && h <= 384.0 {
                    return 258;
                }
                let unit = (w.min(h) / 1.5).clamp(256.0, 768.0);
                258 * ((w / unit).ceil() * (h / unit).ceil()) as u64
            }
        }
    }

    fn pdf_page(self) -> u64 {
        match self {
            Rule::Anthropic => 2250,
            Rule::OpenAi => 1500,
            Rule::Gemini => 258,
        }
    }
}

/// What kind of binary a part carries.
enum Kind {
    Image { low_detail: bool },
    Pdf,
    Other,
}

/// A binary part: its kind, and its data if inline (base64, or a `data:` URL).
struct Binary<'a> {
    kind: Kind,
    data: Option<&'a str>,
}

fn kind_of_mime(mime: &str) -> Kind {
    if mime.starts_with("image/") {
        Kind::Image { low_detail: false }
    } else if mime == "application/pdf" {
        Kind::Pdf
    } else {
        Kind::Other
    }
}

/// `data:<mime>;base64,<data>` into its mime type and data.
fn data_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (head, data) = rest.split_once(',')?;
    Some((head.split(';').next().unwrap_or(""), data))
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// If `v` is an image, document or other binary part of a request (in any of the wire APIs),
/// what it is.
fn binary(v: &Value) -> Option<Binary<'_>> {
    let obj = v.as_object()?;
    // Gemini: {"inline_data": {"mime_type", "data"}} or {"file_data": {"mime_type", "file_uri"}}.
    for (key, inline) in [
        ("inline_data", true),
        ("inlineData", true),
        ("file_data", false),
        ("fileData", false),
    ] {
        if let Some(d) = obj.get(key).filter(|d| d.is_object()) {
            let mime = str_at(d, "mime_type").or_else(|| str_at(d, "mimeType")).unwrap_or("");
            return Some(Binary {
                kind: kind_of_mime(mime),
                data: if inline { str_at(d, "data") } else { None },
            });
        }
    }
    let low = str_at(v, "detail") == Some("low");
    match str_at(v, "type")? {
        // Anthropic: {"type": "image" | "document", "source": {"type": "base64" | "url" | ...}}.
        t @ ("image" | "document") => {
            let source = obj.get("source")?;
            match str_at(source, "type") {
                // A text or content document is text: counted as such.
                Some("text" | "content") => None,
                Some("base64") => Some(Binary {
                    kind: kind_of_mime(str_at(source, "media_type").unwrap_or("")),
                    data: str_at(source, "data"),
                }),
                _ => Some(Binary {
                    kind: if t == "image" {
                        Kind::Image { low_detail: false }
                    } else {
                        Kind::Pdf
                    },
                    data: None,
                }),
            }
        }
        // OpenAI Chat: {"type": "image_url", "image_url": {"url", "detail"}}.
        "image_url" => {
            let iu = obj.get("image_url")?;
            let (url, low) = match iu {
                Value::String(s) => (s.as_str(), low),
                other => (
                    str_at(other, "url").unwrap_or(""),
                    str_at(other, "detail") == Some("low"),
                ),
            };
            Some(Binary {
                kind: Kind::Image { low_detail: low },
                data: data_url(url).map(|(_, d)| d),
            })
        }
        // OpenAI Responses: {"type": "input_image", "image_url" | "file_id", "detail"}.
        "input_image" => Some(Binary {
            kind: Kind::Image { low_detail: low },
            data: str_at(v, "image_url").and_then(data_url).map(|(_, d)| d),
        }),
        // OpenAI Chat {"type": "file", "file": {"file_data"}}; Responses {"type": "input_file"}.
        t @ ("file" | "input_file") => {
            let f = if t == "file" { obj.get("file")? } else { v };
            let (mime, data) = str_at(f, "file_data")
                .and_then(data_url)
                .unwrap_or(("application/pdf", ""));
            Some(Binary {
                kind: kind_of_mime(mime),
                data: (!data.is_empty()).then_some(data),
            })
        }
        "input_audio" => Some(Binary {
            kind: Kind::Other,
            data: None,
        }),
        _ => None,
    }
}

fn decode(data: &str, max_chars: usize) -> Option<Vec<u8>> {
    let mut end = data.len().min(max_chars) / 4 * 4;
    while !data.is_char_boundary(end) {
        end -= 1;
    }
    base64::engine::general_purpose::STANDARD.decode(&data[..end]).ok()
}

/// The size of an image from the first bytes of its base64 data (JPEG's size can come after
/// its metadata, so up to 96 KiB of base64 are decoded, then all of it).
fn image_size(data: &str) -> Option<(u64, u64)> {
    let read = |max| {
        let bytes = decode(data, max)?;
        imagesize::blob_size(&bytes)
            .ok()
            .map(|s| (s.width as u64, s.height as u64))
    };
    read(96 * 1024).or_else(|| if data.len() > 96 * 1024 { read(data.len()) } else { None })
}

/// Pages of a PDF: its `/Type /Page` objects (not `/Pages`), at least one.
fn pdf_pages(data: &str) -> u64 {
    let Some(bytes) = decode(data, data.len()) else {
        return 1;
    };
    let mut pages = 0;
    for pat in [&b"/Type /Page"[..], &b"/Type/Page"[..]] {
        for at in memchr::memmem::find_iter(&bytes, pat) {
            if bytes.get(at + pat.len()) != Some(&b's') {
                pages += 1;
            }
        }
    }
    pages.max(1)
}

fn tokens(b: &Binary<'_>, rule: Rule) -> u64 {
    match b.kind {
        Kind::Image { low_detail } => {
            let (w, h) = b.data.and_then(image_size).unwrap_or((DEFAULT_SIDE, DEFAULT_SIDE));
            rule.image(w, h, low_detail)
        }
        Kind::Pdf => rule.pdf_page() * b.data.map_or(1, pdf_pages),
        Kind::Other => 0,
    }
}

fn contains_binary(v: &Value) -> bool {
    match v {
        Value::Object(o) => binary(v).is_some() || o.values().any(contains_binary),
        Value::Array(a) => a.iter().any(contains_binary),
        _ => false,
    }
}

/// `v` with its binary parts taken out (as nulls), their tokens added to `media`.
fn without_binaries(v: &Value, rule: Rule, media: &mut u64) -> Value {
    if let Some(b) = binary(v) {
        *media += tokens(&b, rule);
        return Value::Null;
    }
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), without_binaries(v, rule, media)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|v| without_binaries(v, rule, media)).collect()),
        other => other.clone(),
    }
}

/// Like [`super::push_text`], but images and documents add their estimated tokens to `media`
/// instead of their bytes to `out`.
pub(crate) fn push_part(out: &mut String, media: &mut u64, v: &Value, rule: Rule) {
    if contains_binary(v) {
        let rest = without_binaries(v, rule, media);
        if !rest.is_null() {
            super::push_text(out, &rest);
        }
    } else {
        super::push_text(out, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A PNG's first bytes: the signature and an IHDR chunk of the given size.
    fn png(width: u32, height: u32) -> String {
        let mut b = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13];
        b.extend_from_slice(b"IHDR");
        b.extend_from_slice(&width.to_be_bytes());
        b.extend_from_slice(&height.to_be_bytes());
        b.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
        b.extend(std::iter::repeat_n(0u8, 300_000));
        base64::engine::general_purpose::STANDARD.encode(b)
    }

    #[test]
    fn published_examples() {
        // Anthropic's table: 1092 x 1092 is ~1,590 tokens; 200 x 200 is ~54.
        assert_eq!(Rule::Anthropic.image(1092, 1092, false), 1590);
        assert_eq!(Rule::Anthropic.image(200, 200, false), 54);
        // a 4000 x 3000 photo is scaled down to ~1,600 tokens
        assert!((1590..=1605).contains(&Rule::Anthropic.image(4000, 3000, false)));
        // OpenAI's examples: 1024 x 1024 high is 765; 2048 x 4096 is 1,105; low is 85.
        assert_eq!(Rule::OpenAi.image(1024, 1024, false), 765);
        assert_eq!(Rule::OpenAi.image(2048, 4096, false), 1105);
        assert_eq!(Rule::OpenAi.image(4096, 8192, true), 85);
        // Gemini: small images are 258; 960 x 540 is 6 tiles.
        assert_eq!(Rule::Gemini.image(384, 200, false), 258);
        assert_eq!(Rule::Gemini.image(960, 540, false), 258 * 6);
    }

    #[test]
    fn a_screenshot_counts_its_size_not_its_base64() {
        let data = png(1092, 1092);
        let block = json!({"type": "tool_result", "tool_use_id": "t1", "content": [
            {"type": "text", "text": "screenshot taken"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}}]});
        let (mut out, mut media) = (String::new(), 0);
        push_part(&mut out, &mut media, &block, Rule::Anthropic);
        assert_eq!(media, 1590);
        assert!(out.contains("screenshot taken") && out.len() < 300, "{out}");

        let chat = json!({"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{data}")}});
        let (mut out, mut media) = (String::new(), 0);
        push_part(&mut out, &mut media, &chat, Rule::OpenAi);
        assert_eq!((out.as_str(), media), ("", Rule::OpenAi.image(1092, 1092, false)));

        let gemini = json!({"inline_data": {"mime_type": "image/png", "data": data}});
        let (mut out, mut media) = (String::new(), 0);
        push_part(&mut out, &mut media, &gemini, Rule::Gemini);
        assert_eq!(media, Rule::Gemini.image(1092, 1092, false));
    }

    #[test]
    fn urls_files_pdfs_and_audio() {
        let url = json!({"type": "image", "source": {"type": "url", "url": "https://x/y.png"}});
        let (mut out, mut media) = (String::new(), 0);
        push_part(&mut out, &mut media, &url, Rule::Anthropic);
        assert_eq!(media, Rule::Anthropic.image(1024, 1024, false));

        let pdf = base64::engine::general_purpose::STANDARD
            .encode(b"%PDF-1.4 1 0 obj <</Type /Pages /Count 2>> 2 0 obj <</Type /Page>> 3 0 obj <</Type/Page>>");
        let doc =
            json!({"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": pdf}});
        let (mut out, mut media) = (String::new(), 0);
        push_part(&mut out, &mut media, &doc, Rule::Anthropic);
        assert_eq!(media, 2 * 2250);
        let file = json!({"type": "input_file", "filename": "a.pdf", "file_data": format!("data:application/pdf;base64,{pdf}")});
        let (mut out, mut media) = (String::new(), 0);
        push_part(&mut out, &mut media, &file, Rule::OpenAi);
        assert_eq!(media, 2 * 1500);

        // A text document is text.
        let text_doc =
            json!({"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "hello"}});
        let (mut out, mut media) = (String::new(), 0);
        push_part(&mut out, &mut media, &text_doc, Rule::Anthropic);
        assert!(out.contains("hello") && media == 0);

        let audio = json!({"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}});
        let (mut out, mut media) = (String::new(), 0);
        push_part(&mut out, &mut media, &audio, Rule::OpenAi);
        assert_eq!((out.as_str(), media), ("", 0));
    }

    #[test]
    fn broken_data_is_an_estimate_not_an_error() {
        for data in ["", "!!!not base64!!!", "iVBORw0KGgo", "é"] {
            let v = json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}});
            let (mut out, mut media) = (String::new(), 0);
            push_part(&mut out, &mut media, &v, Rule::Anthropic);
            assert_eq!(media, Rule::Anthropic.image(1024, 1024, false));
        }
    }
}
