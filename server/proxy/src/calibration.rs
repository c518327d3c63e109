//! Learning how far the Claude and Gemini token estimates are from the truth. The composition
//! counts a request's text in the model's base encoding; the provider reports the exact input
//! count. Their ratio, over enough requests, is the model's calibration
//! (`promptmeter_core::tokenize::calibration`), kept in `calibration.json` next to the ledger
//! for the language server and `promptmeter count`.

use std::path::PathBuf;
use std::sync::Mutex;

use promptmeter_core::Catalog;
use promptmeter_core::tokenize::calibration::Calibration;
use promptmeter_ledger::RequestRecord;

use crate::composition::Measured;

/// Requests whose text counts fewer base tokens are not used: the provider's fixed per-request
/// overhead (message framing, tool-use instructions) would weigh too much in the ratio.
pub const MIN_BASE_TOKENS: u64 = 1_000;

pub struct Learner {
    path: Option<PathBuf>,
    state: Mutex<(Calibration, bool)>,
}

impl Learner {
    /// Resume the calibration stored at `path`; `None`: learn in memory only.
    pub fn open(path: Option<PathBuf>) -> Learner {
        let cal = path
            .as_deref()
            .map(promptmeter_ledger::calibration::load)
            .unwrap_or_default();
        Learner {
            path,
            state: Mutex::new((cal, false)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Calibration, bool)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Learn from a finished request, when it is a whole success on a model whose tokenizer
    /// is an estimate, and its text was counted. Returns whether it was used.
    pub fn observe(&self, catalog: &Catalog, record: &RequestRecord, measured: Option<&Measured>) -> bool {
        let Some(m) = measured else { return false };
        let base: u64 = m.counts.iter().sum();
        let u = &record.usage;
        let reported = u.input + u.cache_read + u.cache_write5m + u.cache_write1h;
        if record.status != 200 || record.incomplete || base < MIN_BASE_TOKENS || reported == 0 {
            return false;
        }
        let model = record
            .model_served
            .as_deref()
            .and_then(|s| catalog.resolve(s))
            .or_else(|| record.model_requested.as_deref().and_then(|s| catalog.resolve(s)));
        let Some(model) = model.filter(|m| !m.tokenizer.is_exact()) else {
            return false;
        };
        let mut st = self.lock();
        let used = st.0.observe(&model.calibration_key(), base, reported);
        st.1 |= used;
        used
    }

    /// Write the calibration if it changed since the last write (the ledger writer calls this
    /// before it publishes a record, so the file is up to date when the feed says so).
    pub fn save_if_changed(&self) {
        let Some(path) = &self.path else { return };
        let snapshot = {
            let mut st = self.lock();
            if !st.1 {
                return;
            }
            st.1 = false;
            st.0.clone()
        };
        if let Err(e) = promptmeter_ledger::calibration::save(path, &snapshot) {
            tracing::debug!("calibration: {e:#}");
        }
    }

    pub fn snapshot(&self) -> Calibration {
        self.lock().0.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promptmeter_ledger::UsageRecord;

    fn request(model: &str, input: u64, status: u16) -> RequestRecord {
        RequestRecord {
            model_served: Some(model.into()),
            status,
            usage: UsageRecord {
                input,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn measured(base: u64) -> Measured {
        Measured {
            counts: [base, 0, 0, 0, 0],
            ..Default::default()
        }
    }

    #[test]
    fn learns_estimates_from_whole_successes_and_saves_when_changed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calibration.json");
        let catalog = Catalog::bundled();
        let l = Learner::open(Some(path.clone()));
        assert!(
            !l.observe(&catalog, &request("gpt-5", 1300, 200), Some(&measured(1000))),
            "exact"
        );
        assert!(
            !l.observe(&catalog, &request("claude-sonnet-4-5", 130, 200), Some(&measured(100))),
            "short"
        );
        assert!(
            !l.observe(
                &catalog,
                &request("claude-sonnet-4-5", 1300, 500),
                Some(&measured(1000))
            ),
            "failed"
        );
        assert!(
            !l.observe(&catalog, &request("claude-sonnet-4-5", 1300, 200), None),
            "not counted"
        );
        l.save_if_changed();
        assert!(!path.exists(), "nothing learned, nothing written");
        for _ in 0..5 {
            assert!(l.observe(
                &catalog,
                &request("claude-sonnet-4-5-20250929", 1300, 200),
                Some(&measured(1000))
            ));
        }
        l.save_if_changed();
        let saved = promptmeter_ledger::calibration::load(&path);
        let key = catalog.resolve("claude-sonnet-4-5").unwrap().calibration_key();
        let (factor, bound) = saved.learned(&key).unwrap();
        assert!((factor - 1.3).abs() < 1e-9 && bound <= 0.011, "{factor} {bound}");
        // A new learner resumes it.
        assert_eq!(Learner::open(Some(path)).snapshot(), saved);
    }
}
