//! Session stickiness: which model each session was last served by, and until when its prompt
//! cache is warm. Switching a session's model while its cache is warm makes the next request
//! write the whole context again on the new model; routing keeps such a session on its model
//! and says why. The table is bounded: the least recently seen sessions are forgotten.

use std::collections::HashMap;

use time::{Duration, OffsetDateTime};

use crate::usage::Usage;

/// Anthropic's default cache lifetime (refreshed on every hit); OpenAI's automatic cache
/// lives about as long.
pub const CACHE_TTL_5M: Duration = Duration::minutes(5);
pub const CACHE_TTL_1H: Duration = Duration::hours(1);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionState {
    /// The model that last served the session's main conversation.
    pub model: String,
    pub last_seen: OffsetDateTime,
    /// The session's prompt cache is warm until then.
    pub cache_until: Option<OffsetDateTime>,
}

impl SessionState {
    pub fn cache_warm(&self, now: OffsetDateTime) -> bool {
        self.cache_until.is_some_and(|t| now < t)
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

    /// A response of the session's main conversation: `model` served it with `usage`.
    pub fn observe(&mut self, id: &str, model: &str, usage: &Usage, now: OffsetDateTime) {
        let ttl = if usage.cache_write_1h > 0 {
            Some(CACHE_TTL_1H)
        } else if usage.cache_read > 0 || usage.cache_write_5m > 0 {
            Some(CACHE_TTL_5M)
        } else {
            None
        };
        let prev = self.map.get(id);
        let same_model = prev.is_some_and(|p| p.model == model);
        // A 1-hour cache written earlier stays warm through 5-minute reads.
        let earlier = prev.filter(|_| same_model).and_then(|p| p.cache_until);
        let cache_until = match (ttl.map(|t| now + t), earlier) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        if !self.map.contains_key(id)
            && self.map.len() >= self.capacity
            && let Some(oldest) = self.map.iter().min_by_key(|(_, s)| s.last_seen).map(|(k, _)| k.clone())
        {
            self.map.remove(&oldest);
        }
        self.map.insert(
            id.to_string(),
            SessionState {
                model: model.to_string(),
                last_seen: now,
                cache_until,
            },
        );
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
    fn cache_warmth_follows_usage() {
        let mut s = SessionTable::default();
        s.observe("a", "m", &Usage::default(), T);
        assert!(!s.get("a").unwrap().cache_warm(T));
        s.observe("a", "m", &cached(), T);
        assert!(s.get("a").unwrap().cache_warm(T + Duration::minutes(4)));
        assert!(!s.get("a").unwrap().cache_warm(T + Duration::minutes(5)));
        let long = Usage {
            cache_write_1h: 10,
            ..Default::default()
        };
        s.observe("a", "m", &long, T);
        s.observe("a", "m", &cached(), T + Duration::minutes(1));
        assert!(s.get("a").unwrap().cache_warm(T + Duration::minutes(50)));
        // A different model's cache is a different cache.
        s.observe("a", "other", &cached(), T + Duration::minutes(2));
        assert!(!s.get("a").unwrap().cache_warm(T + Duration::minutes(8)));
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
    }
}
