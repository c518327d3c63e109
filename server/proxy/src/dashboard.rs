//! The live dashboard (issue 7) at `GET /_promptmeter/`: static HTML, CSS and JavaScript
//! embedded in the binary (no build step, no CDN, works offline). The page reads the same
//! namespace endpoints as everyone else (`summary`, `requests`, `feed`); this file only serves
//! the assets, with exact content types, an `ETag` and a strict Content-Security-Policy.
//! The namespace's Host and Origin checks run before it (`namespace::handle`).

use std::sync::OnceLock;

use bytes::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{HeaderMap, Response, StatusCode};
use sha2::{Digest, Sha256};

use crate::{Body, full};

/// Scripts, styles and data only from this origin; no inline code, no framing except by the
/// page itself and VS Code's webviews (`promptmeter: Open dashboard`; every ancestor must
/// match: the webview frames and the workbench), no form posts, no plugins.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; \
                       frame-ancestors 'self' vscode-webview: vscode-file: http://127.0.0.1:* http://localhost:*";

struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "/_promptmeter",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../assets/dashboard/index.html"),
    },
    Asset {
        path: "/_promptmeter/dashboard/style.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../assets/dashboard/style.css"),
    },
    Asset {
        path: "/_promptmeter/dashboard/app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/dashboard/app.js"),
    },
    Asset {
        path: "/_promptmeter/dashboard/model.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/dashboard/model.js"),
    },
    Asset {
        path: "/_promptmeter/dashboard/treemap.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/dashboard/treemap.js"),
    },
    Asset {
        path: "/_promptmeter/dashboard/charts.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/dashboard/charts.js"),
    },
    Asset {
        path: "/_promptmeter/dashboard/favicon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../assets/dashboard/favicon.svg"),
    },
];

/// Strong ETags from the assets' content, computed once.
fn etags() -> &'static [String] {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    TAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let d = Sha256::digest(a.body);
                let hex: String = d.iter().take(8).map(|b| format!("{b:02x}")).collect();
                format!("\"{hex}\"")
            })
            .collect()
    })
}

/// The dashboard asset at `path` (already stripped of a trailing slash, as the namespace
/// does), or `None` when `path` is not one. Answers `304` to a matching `If-None-Match`.
pub fn serve(path: &str, headers: &HeaderMap) -> Option<Response<Body>> {
    let path = path.trim_end_matches('/');
    let i = ASSETS.iter().position(|a| a.path == path)?;
    let asset = &ASSETS[i];
    let etag = &etags()[i];
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut r = if fresh {
        let mut r = Response::new(full(Bytes::new()));
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let mut r = Response::new(full(Bytes::from_static(asset.body)));
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
        r
    };
    let h = r.headers_mut();
    // Revalidate every time (cheap: a 304 on loopback), so a new binary's page is never stale.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str) -> Option<Response<Body>> {
        serve(path, &HeaderMap::new())
    }

    #[test]
    fn serves_every_asset_with_its_type_and_policy() {
        for a in ASSETS {
            let r = get(a.path).expect(a.path);
            assert_eq!(r.status(), StatusCode::OK);
            assert_eq!(r.headers()[header::CONTENT_TYPE], a.content_type);
            assert_eq!(r.headers()[header::CONTENT_SECURITY_POLICY], CSP);
            assert_eq!(r.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
            assert!(!a.body.is_empty());
        }
        assert!(get("/_promptmeter/").is_some());
        assert!(get("/_promptmeter/dashboard/nope.js").is_none());
        assert!(get("/_promptmeter/summary").is_none());
    }

    #[test]
    fn html_loads_only_embedded_assets() {
        let html = std::str::from_utf8(ASSETS[0].body).unwrap();
        for needle in ["src=\"", "href=\""] {
            for (i, _) in html.match_indices(needle) {
                let rest = &html[i + needle.len()..];
                let url = &rest[..rest.find('"').unwrap()];
                assert!(
                    url.starts_with("/_promptmeter/"),
                    "the page references {url} off the proxy"
                );
                if url.starts_with("/_promptmeter/dashboard/") {
                    assert!(
                        ASSETS.iter().any(|a| a.path == url),
                        "the page references {url}, which is not embedded"
                    );
                }
            }
        }
        assert!(!html.contains("<script>"), "inline scripts are refused by the CSP");
        assert!(!html.contains("style=\""), "inline styles are refused by the CSP");
    }

    #[test]
    fn etag_revalidates() {
        let r = get("/_promptmeter/dashboard/app.js").unwrap();
        let tag = r.headers()[header::ETAG].clone();
        let mut h = HeaderMap::new();
        h.insert(header::IF_NONE_MATCH, tag);
        let r = serve("/_promptmeter/dashboard/app.js", &h).unwrap();
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    }
}
