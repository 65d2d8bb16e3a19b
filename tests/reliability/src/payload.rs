//! Request payloads that say who sent them and can be checked byte for byte.

/// A small, fast, deterministic generator (xorshift64*): payloads and hostile bytes are
/// reproducible from a seed, which failure messages print.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value; zero is mapped to a fixed non-zero state).
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `low..high` (`high > low`).
    pub(crate) fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next_u64() % (high - low).max(1)
    }

    /// Fills `out` with random bytes.
    pub(crate) fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// A request payload: `"<origin> <sequence> "` then `len` pseudo-random bytes from a seed made
/// of both, so a reply from another request, a truncated or a reordered reply is caught.
pub(crate) fn payload(origin: &str, sequence: u64, len: usize) -> Vec<u8> {
    let mut out = format!("{origin} {sequence} ").into_bytes();
    let start = out.len();
    out.resize(start + len, 0);
    let seed = origin
        .bytes()
        .fold(sequence, |h, b| h.rotate_left(5) ^ u64::from(b));
    Rng::new(seed).fill(&mut out[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_differ_by_origin_and_sequence_and_repeat_exactly() {
        assert_eq!(payload("a", 1, 100), payload("a", 1, 100));
        assert_ne!(payload("a", 1, 100), payload("a", 2, 100));
        assert_ne!(payload("a", 1, 100)[4..], payload("b", 1, 100)[4..]);
        assert_eq!(payload("node-1", 7, 1000).len(), "node-1 7 ".len() + 1000);
    }

    #[test]
    fn range_stays_in_bounds() {
        let mut rng = Rng::new(3);
        for _ in 0..1000 {
            let v = rng.range(10, 20);
            assert!((10..20).contains(&v));
        }
    }
}
