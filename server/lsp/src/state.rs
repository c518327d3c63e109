//! Server state: open documents, the settings snapshot, the last lint results. Every lock here
//! is held only for the length of a synchronous step (apply a change, take a snapshot,
//! analyse); nothing awaits while holding one, so no handler waits on another's work.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use dashmap::DashMap;
use promptmeter_core::Catalog;
use promptmeter_core::lint::Finding;
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::Uri;

use crate::document::OpenDocument;
use crate::settings::{Settings, Sources};

pub struct State {
    pub client: Client,
    pub docs: DashMap<Uri, Arc<Mutex<OpenDocument>>>,
    settings: RwLock<Arc<Settings>>,
    sources: Mutex<Sources>,
    base_catalog: Catalog,
    /// Latest lint run per document: (document version, findings).
    pub findings: DashMap<Uri, (i32, Arc<Vec<Finding>>)>,
    /// Bumped on every change; a lint run whose generation is stale is dropped.
    pub lint_generation: DashMap<Uri, u64>,
    pub feed: crate::feed::FeedHandle,
    pub client_caps: std::sync::OnceLock<tower_lsp_server::ls_types::ClientCapabilities>,
}

/// Lock a mutex, recovering the data if a panicking handler poisoned it.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl State {
    pub fn new(client: Client) -> Self {
        let base_catalog = Catalog::bundled();
        let sources = Sources {
            user_file: crate::settings::user_config_file(),
            ..Default::default()
        };
        let settings = Settings::load(&sources, &base_catalog);
        State {
            client,
            docs: DashMap::new(),
            settings: RwLock::new(Arc::new(settings)),
            sources: Mutex::new(sources),
            base_catalog,
            findings: DashMap::new(),
            lint_generation: DashMap::new(),
            feed: crate::feed::FeedHandle::default(),
            client_caps: std::sync::OnceLock::new(),
        }
    }

    /// Whether the client accepts workspace/inlayHint/refresh.
    pub fn can_refresh_hints(&self) -> bool {
        self.client_caps
            .get()
            .and_then(|c| c.workspace.as_ref())
            .and_then(|w| w.inlay_hint.as_ref())
            .and_then(|i| i.refresh_support)
            .unwrap_or(false)
    }

    /// Whether the client answers workspace/configuration.
    pub fn can_pull_configuration(&self) -> bool {
        self.client_caps
            .get()
            .and_then(|c| c.workspace.as_ref())
            .and_then(|w| w.configuration)
            .unwrap_or(false)
    }

    pub fn settings(&self) -> Arc<Settings> {
        self.settings.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Change the configuration sources and rebuild the settings; returns the new snapshot.
    pub fn reconfigure(&self, f: impl FnOnce(&mut Sources)) -> Arc<Settings> {
        let src = {
            let mut s = lock(&self.sources);
            f(&mut s);
            s.clone()
        };
        let new = Arc::new(Settings::load(&src, &self.base_catalog));
        *self.settings.write().unwrap_or_else(|e| e.into_inner()) = new.clone();
        new
    }

    pub fn roots(&self) -> Vec<PathBuf> {
        lock(&self.sources).roots.clone()
    }

    pub fn doc(&self, uri: &Uri) -> Option<Arc<Mutex<OpenDocument>>> {
        self.docs.get(uri).map(|d| d.value().clone())
    }

    /// Whether the open document is one we measure (selected by the globs, analysable).
    pub fn measured(&self, settings: &Settings, doc: &OpenDocument) -> bool {
        doc.path.as_ref().is_some_and(|p| settings.selects(p))
            && doc.skip(settings.config.lsp.max_document_bytes).is_none()
    }

    /// Text of a workspace file: the open document's text when it is open, else the disk's.
    pub fn read_file(&self, path: &std::path::Path) -> Option<String> {
        if let Some(uri) = Uri::from_file_path(path)
            && let Some(d) = self.doc(&uri)
        {
            return Some(lock(&d).text().to_string());
        }
        let meta = std::fs::metadata(path).ok()?;
        if !meta.is_file() || meta.len() > 4 * 1024 * 1024 {
            return None;
        }
        std::fs::read_to_string(path).ok()
    }
}
