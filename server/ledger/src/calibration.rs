//! Where the tokenizer calibration learned from real traffic is kept: `calibration.json` next
//! to the ledger. The proxy writes it (it sees the provider's exact input count of every
//! request whose text it counted); the language server and `promptmeter count` read it, so
//! Claude and Gemini estimates tighten with use. Written whole to a temporary file and renamed,
//! so a reader never sees half a file; a missing or unreadable file is no calibration.

use std::path::{Path, PathBuf};

use anyhow::Context;
use promptmeter_core::tokenize::calibration::Calibration;

/// The calibration file of a ledger.
pub fn path_for(ledger: &Path) -> PathBuf {
    ledger.with_file_name("calibration.json")
}

/// The calibration at `path` (empty when there is none or it cannot be read).
pub fn load(path: &Path) -> Calibration {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Write `calibration` to `path` atomically (a temporary file renamed over it).
pub fn save(path: &Path, calibration: &Calibration) -> anyhow::Result<()> {
    let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
    let json = serde_json::to_vec_pretty(calibration)?;
    std::fs::write(&tmp, json).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_calibration_loads_back_and_bad_files_load_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(&dir.path().join("ledger.sqlite"));
        assert_eq!(load(&path), Calibration::default(), "missing");
        let mut c = Calibration::default();
        for _ in 0..5 {
            c.observe("claude-sonnet-4-5", 1000, 1234);
        }
        save(&path, &c).unwrap();
        assert_eq!(load(&path), c);
        std::fs::write(&path, b"{not json").unwrap();
        assert_eq!(load(&path), Calibration::default(), "garbage");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }
}
