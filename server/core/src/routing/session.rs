//! Session stickiness: which models hold a warm prompt cache in each session, and until when.
//! Switching a session's model while its cache is warm makes the next request write the whole
//! context again on the new model; routing keeps such a session on its model and says why.
//! Warmth is per model: an agent's side requests on a small model (titles, quota checks) in
//! the same session neither warm nor cool the main conversation's cache. The table is bounded:
//! the least recently seen sessions are forgotten.

use std::collections::HashMap;

use time::{Duration, OffsetDateTime};

use crate::usage::Usage;

/// Anthropic's default cache lifetime (refreshed on every hit); OpenAI's automatic cache
/// lives about as long.
pub const CACHE_TTL_5M: Duration = Duration::minutes(5);
pub const CACHE_TTL_1H: Duration = Duration::hours(1);
/// Models remembered per session.
const MODELS_PER_SESSION: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelCache {
    pub model: String,
    pub last_seen: OffsetDateTime,
    /// The cache of this model in this session is warm until then.
    pub cache_until: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionState {
    /// Most recently seen first.
    pub models: Vec<ModelCache>,
}

impl SessionState {
    pub fn last_seen(&self) -> Option<OffsetDateTime> {
        self.models.first().map(|m| m.last_seen)
    }

    /// The models whose cache is warm at `now`, most recently used first.
    pub fn warm(&self, now: OffsetDateTime) -> impl Iterator<Item = &str> {
        self.models
            .iter()
            .filter(move |m| m.cache_until.is_some_and(|t| now < t))
            .map(|m| m.model.as_str())
    }

    pub fn cache_warm(&self, model: &str, now: OffsetDateTime) -> bool {
        self.warm(now).any(|m| m == model)
    }
}

#[derive(Debug, Clone)]
pub struct SessionTable {
    map: HashMap<String, SessionState>,
    capacity: usize,
}

impl Default for SessionTable {
    fn default() -> Self {
        SessionTable::with_capacity(10_000)
    }
}

impl SessionTable {
    pub fn with_capacity(capacity: usize) -> Self {
        SessionTable {
            map: HashMap::new(),
            capacity: capacity.max(1),
        }
    }

    pub fn get(&self, id: &str) -> Option<&SessionState> {
        self.map.get(id)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// A response in session `id`: `model` served it with `usage`.
    pub fn observe(&mut self, id: &str, model: &str, usage: &Usage, now: OffsetDateTime) {
        let ttl = if usage.cache_write_1h > 0 {
            Some(CACHE_TTL_1H)
        } else if usage.cache_read > 0 || usage.cache_write_5m > 0 {
            Some(CACHE_TTL_5M)
        } else {
            None
        };
        if !self.map.contains_key(id)
            && self.map.len() >= self.capacity
            && let Some(oldest) = self
                .map
                .iter()
                .min_by_key(|(_, s)| s.last_seen())
                .map(|(k, _)| k.clone())
        {
            self.map.remove(&oldest);
        }
        let state = self.map.entry(id.to_string()).or_default();
        let earlier = state
            .models
            .iter()
            .position(|m| m.model == model)
            .map(|i| state.models.remove(i));
        // A 1-hour cache written earlier stays warm through 5-minute reads.
        let cache_until = match (ttl.map(|t| now + t), earlier.and_then(|e| e.cache_until)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        state.models.insert(
            0,
            ModelCache {
                model: model.to_string(),
                last_seen: now,
                cache_until,
            },
        );
        state.models.truncate(MODELS_PER_SESSION);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T: OffsetDateTime = datetime!(2026-12-03 12:00 UTC);

    fn cached() -> Usage {
        Usage {
            cache_read: 1000,
            ..Default::default()
        }
    }

    #[test]
    fn cache_warmth_follows_usage_per_model() {
        let mut s = SessionTable::default();
        s.observe("a", "m", &Usage::default(), T);
        assert!(!s.get("a").unwrap().cache_warm("m", T));
        s.observe("a", "m", &cached(), T);
        assert!(s.get("a").unwrap().cache_warm("m", T + Duration::minutes(4)));
        assert!(!s.get("a").unwrap().cache_warm("m", T + Duration::minutes(5)));
        let long = Usage {
            cache_write_1h: 10,
            ..Default::default()
        };
        s.observe("a", "m", &long, T);
        s.observe("a", "m", &cached(), T + Duration::minutes(1));
        assert!(s.get("a").unwrap().cache_warm("m", T + Duration::minutes(50)));
        // A side request on another model leaves the main model's cache warm.
        s.observe("a", "small", &Usage::default(), T + Duration::minutes(2));
        let st = s.get("a").unwrap();
        assert!(st.cache_warm("m", T + Duration::minutes(8)));
        assert_eq!(st.warm(T + Duration::minutes(8)).collect::<Vec<_>>(), vec!["m"]);
        assert_eq!(st.models[0].model, "small");
    }

    #[test]
    fn bounded_by_forgetting_the_least_recent() {
        let mut s = SessionTable::with_capacity(2);
        s.observe("a", "m", &cached(), T);
        s.observe("b", "m", &cached(), T + Duration::seconds(1));
        s.observe("a", "m", &cached(), T + Duration::seconds(2));
        s.observe("c", "m", &cached(), T + Duration::seconds(3));
        assert_eq!(s.len(), 2);
        assert!(s.get("b").is_none());
        assert!(s.get("a").is_some() && s.get("c").is_some());
        for i in 0..20 {
            s.observe("a", &format!("m{i}"), &cached(), T);
        }
        assert_eq!(s.get("a").unwrap().models.len(), MODELS_PER_SESSION);
    }
}
