//! Idempotency keys for applications.
//!
//! The session core does no I/O, so it cannot ask the OS for randomness: it is handed a seed
//! (random in production, fixed in tests) and derives one key per application from it, which
//! keeps journeys reproducible under test and unique in the field.

/// Source of idempotency keys.
#[derive(Debug, Clone)]
pub struct KeySource {
    state: u64,
    fixed: Option<String>,
}

impl KeySource {
    /// Keys derived from `seed` (take it from the OS random source in production).
    pub fn seeded(seed: u64) -> Self {
        Self {
            state: seed,
            fixed: None,
        }
    }

    /// Every application uses `key`: an operator replaying one submission on purpose.
    pub fn fixed(key: String) -> Self {
        Self {
            state: 0,
            fixed: Some(key),
        }
    }

    /// The next key, formatted as a UUID (version 4 layout).
    pub fn next_key(&mut self) -> String {
        if let Some(key) = &self.fixed {
            return key.clone();
        }
        let hi = self.next_u64();
        let lo = self.next_u64();
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&hi.to_be_bytes());
        bytes[8..].copy_from_slice(&lo.to_be_bytes());
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }

    /// SplitMix64: a small, well-distributed generator over a 64-bit state.
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_keys_are_distinct_and_reproducible() {
        let mut a = KeySource::seeded(7);
        let mut b = KeySource::seeded(7);
        let first = a.next_key();
        assert_eq!(first, b.next_key());
        assert_ne!(first, a.next_key());
        assert_eq!(first.len(), 36);
        assert_eq!(&first[14..15], "4");
    }

    #[test]
    fn fixed_keys_repeat() {
        let mut k = KeySource::fixed("demo-key-0001".into());
        assert_eq!(k.next_key(), "demo-key-0001");
        assert_eq!(k.next_key(), "demo-key-0001");
    }
}
