//! Request ids: 26-character, time-ordered, Crockford base32 (the ULID layout: 48 bits of
//! milliseconds, 80 random bits).

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    h.finish()
}

pub fn new_id(now_ms: i64) -> String {
    let value: u128 =
        ((now_ms as u128 & 0xFFFF_FFFF_FFFF) << 80) | ((random_u64() as u128) << 16) | (random_u64() as u128 & 0xFFFF);
    let mut out = [0u8; 26];
    for (i, slot) in out.iter_mut().enumerate() {
        let shift = 125 - 5 * i as u32;
        *slot = ALPHABET[((value >> shift) & 0x1F) as usize];
    }
    String::from_utf8_lossy(&out).into_owned()
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
    }
}
