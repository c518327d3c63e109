//! Request ids: ULIDs (26 characters, Crockford base32, 48 bits of milliseconds then 80 random
//! bits), so ids sort by the time their request started.

use std::time::{Duration, SystemTime};

pub fn new_id(now_ms: i64) -> String {
    let at = SystemTime::UNIX_EPOCH + Duration::from_millis(now_ms.max(0) as u64);
    ulid::Ulid::from_datetime(at).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_time_ordered() {
        let a = new_id(1_000);
        let b = new_id(1_000);
        let c = new_id(2_000);
        assert_eq!(a.len(), 26);
        assert_ne!(a, b);
        assert!(a < c && b < c);
        assert_eq!(ulid::Ulid::from_string(&a).unwrap().timestamp_ms(), 1_000);
    }
}
