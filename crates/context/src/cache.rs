//! The verified-chain cache: what the chain step and the credentials step of the verification
//! path found for a chain that passed them, so a peer that reconnects with the same chain does
//! not cost a second signature check of its chain.
//!
//! Why a hit decides exactly as a fresh verification would:
//!
//! - **The same bytes.** The key is a SHA-256 over the peer's role and the exact DER of every
//!   certificate presented, in order, each prefixed with its length (an injective encoding, so
//!   two different chains never share a key unless SHA-256 collides). A changed byte anywhere
//!   (another signature, the same subject with another key, one intermediate more or less) is
//!   another key: a miss, and a full verification.
//! - **The same trust.** The cache belongs to one context snapshot, which holds one CA bundle
//!   and one set of rules; a reload builds a new snapshot with an empty cache, so a CA removed
//!   from the bundle vouches for nothing cached under it.
//! - **The same time, as far as the verification can tell.** Beyond bytes and anchors, the
//!   chain step reads only whether each certificate it looks at is inside its validity period.
//!   An entry records the span of seconds around its verification in which no certificate
//!   presented and no entry of the CA bundle starts or ends its validity (its *epoch*); a
//!   lookup at a time outside that span is a miss, so a certificate or CA that expired (or is
//!   not yet valid) since is refused by the full verification that follows.
//! - **Only successes.** A chain that fails is never stored; a stale entry whose chain now
//!   fails is removed.
//! - **Not the proof of possession.** rustls verifies the CertificateVerify signature with the
//!   peer's key in every handshake; the cache holds nothing for it. Hostname validation and
//!   authorization run on every verification, hit or miss.
//!
//! The cache is bounded ([`ChainCache::CAPACITY`] entries); the least recently used entry goes
//! first. Only chains that verified are stored, and a forgotten chain only costs one full
//! verification: a peer that floods the cache with its own chains slows nobody into failure.
//! Once the cache is full, a chain gets in only on its second sighting (a small table of
//! fingerprints of chains seen once, each slot overwritten by the next chain that maps to it):
//! chains presented once, such as a new certificate on every connection, neither push out the
//! peers that reconnect nor pay for an entry that would never be hit. Admission decides only
//! what is remembered, never whether a chain is accepted: a chain not admitted is verified in
//! full the next time, as any miss.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use rustls::pki_types::{CertificateDer, UnixTime};
use vespa_tls_authz::{CertificateParts, PeerCredentials};

use crate::tbs::validity_window;
use crate::trust::{AnchorEntry, PeerRole, VerifiedChain};

/// The SHA-256 of a role and a presented chain, leaf first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ChainKey([u8; 32]);

impl ChainKey {
    /// The key of `chain` presented by a peer in `role`: SHA-256 over the role, then each
    /// certificate's length (8 bytes, big-endian) and DER.
    pub(crate) fn of(chain: &[CertificateDer<'_>], role: PeerRole) -> ChainKey {
        let mut context = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        context.update(&[match role {
            PeerRole::Client => 0,
            PeerRole::Server => 1,
        }]);
        for cert in chain {
            context.update(&(cert.len() as u64).to_be_bytes());
            context.update(cert.as_ref());
        }
        let mut key = [0; 32];
        key.copy_from_slice(context.finish().as_ref());
        ChainKey(key)
    }

    /// The slot of a table of `len` (a power of two) seen-once fingerprints, and the key's
    /// fingerprint there (never 0, which marks an empty slot); from disjoint bytes of the hash.
    fn seen_once_slot(&self, len: usize) -> (usize, u64) {
        let [a, b, c, d, e, f, g, h, rest @ ..] = self.0;
        let fingerprint = u64::from_le_bytes([a, b, c, d, e, f, g, h]) | 1;
        let [i, j, k, l, m, n, o, p, ..] = rest;
        let index = u64::from_le_bytes([i, j, k, l, m, n, o, p]);
        // Truncating is the point: the low bits pick the slot.
        #[expect(
            clippy::cast_possible_truncation,
            reason = "masked to the table's length"
        )]
        let slot = (index as usize) & (len - 1);
        (slot, fingerprint)
    }
}

/// The seconds, inclusive, around a verification in which no certificate it could look at
/// starts or ends its validity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ValidityEpoch {
    first: u64,
    last: u64,
}

impl ValidityEpoch {
    /// An epoch that holds at no time.
    pub(crate) const EMPTY: ValidityEpoch = ValidityEpoch { first: 1, last: 0 };

    /// The epoch around `now` of certificates valid over the inclusive `windows`
    /// (`(not_before, not_after)` in Unix seconds, as webpki and our anchor check compare).
    pub(crate) fn around(now: u64, windows: impl IntoIterator<Item = (u64, u64)>) -> Self {
        let mut epoch = ValidityEpoch {
            first: 0,
            last: u64::MAX,
        };
        for (not_before, not_after) in windows {
            // Validity changes at not_before (it starts) and just after not_after (it ends).
            for change in [Some(not_before), not_after.checked_add(1)]
                .into_iter()
                .flatten()
            {
                if change <= now {
                    epoch.first = epoch.first.max(change);
                } else {
                    epoch.last = epoch.last.min(change - 1);
                }
            }
        }
        epoch
    }

    /// The epoch of a verification at `now` of a chain (its leaf already split into `leaf`,
    /// then `intermediates`) against a bundle of `anchors`: every presented certificate and
    /// every bundle entry. `None` when a presented certificate's validity cannot be read (such
    /// a chain is not stored).
    pub(crate) fn of_chain(
        now: UnixTime,
        leaf: &CertificateParts<'_>,
        intermediates: &[CertificateDer<'_>],
        anchors: &[AnchorEntry],
    ) -> Option<Self> {
        let mut windows = Vec::with_capacity(1 + intermediates.len() + anchors.len());
        windows.push(validity_window(leaf).ok()?);
        for der in intermediates {
            let parts = CertificateParts::split(der.as_ref()).ok()?;
            windows.push(validity_window(&parts).ok()?);
        }
        windows.extend(anchors.iter().map(|a| (a.not_before, a.not_after)));
        Some(ValidityEpoch::around(now.as_secs(), windows))
    }

    /// Whether `now` lies inside the epoch.
    pub(crate) fn contains(&self, now: UnixTime) -> bool {
        (self.first..=self.last).contains(&now.as_secs())
    }
}

/// What the chain and credentials steps found for a chain that passed both.
#[derive(Debug)]
pub(crate) struct VerifiedEntry {
    /// The chain step's findings.
    pub(crate) chain: VerifiedChain,
    /// The leaf's credentials, the CN already removed when the path does not vouch for it.
    pub(crate) credentials: PeerCredentials,
    /// When the findings hold.
    pub(crate) epoch: ValidityEpoch,
}

/// What a lookup found.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// A stored entry whose epoch holds `now`.
    Hit(Arc<VerifiedEntry>),
    /// Nothing stored for the key.
    Miss,
    /// A stored entry verified at a time the certificates' validity has changed since; the
    /// caller verifies again and replaces or removes it.
    Stale,
}

/// Verified chains of one context snapshot, bounded, least recently used out first.
#[derive(Debug)]
pub(crate) struct ChainCache {
    capacity: usize,
    table: Mutex<Table>,
}

#[derive(Debug)]
struct Table {
    entries: HashMap<ChainKey, Slot>,
    /// Keys in order of use, oldest first, each with the stamp of that use; a key used again
    /// is pushed anew and its older positions are skipped when they come up.
    order: VecDeque<(ChainKey, u64)>,
    clock: u64,
    /// Chains seen once while the cache was full and not stored: a fingerprint of the key per
    /// slot (0 for none), the slot chosen by other bits of the key. A power of two long.
    seen_once: Box<[u64]>,
}

#[derive(Debug)]
struct Slot {
    entry: Arc<VerifiedEntry>,
    used: u64,
}

impl Default for ChainCache {
    fn default() -> Self {
        ChainCache::with_capacity(ChainCache::CAPACITY)
    }
}

impl ChainCache {
    /// Entries one snapshot keeps: more than the peers of a large Vespa cluster node.
    pub(crate) const CAPACITY: usize = 1024;

    /// An empty cache of at most `capacity` entries (at least one).
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        ChainCache {
            capacity,
            table: Mutex::new(Table {
                entries: HashMap::new(),
                order: VecDeque::new(),
                clock: 0,
                seen_once: vec![0; capacity.next_power_of_two()].into_boxed_slice(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        // A panic elsewhere cannot leave the table inconsistent in a way that matters: every
        // entry is a complete verification result.
        match self.table.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The entry for `key` if it holds at `now`.
    pub(crate) fn get(&self, key: &ChainKey, now: UnixTime) -> Lookup {
        let mut table = self.lock();
        let stamp = table.tick();
        let Some(slot) = table.entries.get_mut(key) else {
            return Lookup::Miss;
        };
        if !slot.entry.epoch.contains(now) {
            return Lookup::Stale;
        }
        slot.used = stamp;
        let entry = Arc::clone(&slot.entry);
        table.order.push_back((*key, stamp));
        table.compact(self.capacity);
        Lookup::Hit(entry)
    }

    /// Whether a chain verified after a miss is to be stored: if there is room, if it would
    /// replace its own entry, or if it was seen once since the cache filled; otherwise it is
    /// remembered as seen. Asked before the caller works out the entry, so a chain presented
    /// once costs nothing more than its verification; the caller then [`insert`](Self::insert)s.
    pub(crate) fn admits(&self, key: &ChainKey) -> bool {
        let mut table = self.lock();
        if table.entries.len() >= self.capacity && !table.entries.contains_key(key) {
            let (slot, fingerprint) = key.seen_once_slot(table.seen_once.len());
            if table.seen_once[slot] != fingerprint {
                table.seen_once[slot] = fingerprint;
                return false;
            }
            table.seen_once[slot] = 0;
        }
        true
    }

    /// Stores a verified chain, evicting the least recently used entry when full.
    pub(crate) fn insert(&self, key: ChainKey, entry: Arc<VerifiedEntry>) {
        self.lock().store(key, entry, self.capacity);
    }

    /// Forgets `key` (a stale entry whose chain no longer verifies).
    pub(crate) fn remove(&self, key: &ChainKey) {
        self.lock().entries.remove(key);
    }

    /// How many chains are stored.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

impl Table {
    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// Stores `entry` under `key`, evicting the least recently used entries beyond `capacity`.
    fn store(&mut self, key: ChainKey, entry: Arc<VerifiedEntry>, capacity: usize) {
        let stamp = self.tick();
        self.entries.insert(key, Slot { entry, used: stamp });
        self.order.push_back((key, stamp));
        while self.entries.len() > capacity {
            let Some((old, used)) = self.order.pop_front() else {
                break;
            };
            if self.entries.get(&old).is_some_and(|slot| slot.used == used) {
                self.entries.remove(&old);
            }
        }
        self.compact(capacity);
    }

    /// Drops the skipped positions once they outnumber the entries three to one, so the
    /// order queue stays within four times the capacity however often entries are hit.
    fn compact(&mut self, capacity: usize) {
        if self.order.len() <= 4 * capacity {
            return;
        }
        let mut live: Vec<(ChainKey, u64)> = self
            .entries
            .iter()
            .map(|(key, slot)| (*key, slot.used))
            .collect();
        live.sort_unstable_by_key(|(_, used)| *used);
        self.order = live.into();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(first: u64, last: u64) -> Arc<VerifiedEntry> {
        Arc::new(VerifiedEntry {
            chain: VerifiedChain {
                anchor: crate::trust::CertificateName {
                    subject: "CN=ca".into(),
                    sha256_fingerprint: String::new(),
                },
                common_name_usable: true,
            },
            credentials: PeerCredentials::new(Some("peer"), &[], &[]),
            epoch: ValidityEpoch { first, last },
        })
    }

    fn key(n: usize) -> ChainKey {
        ChainKey::of(
            &[CertificateDer::from(n.to_string().into_bytes())],
            PeerRole::Client,
        )
    }

    fn at(secs: u64) -> UnixTime {
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs))
    }

    #[test]
    fn the_epoch_ends_where_any_certificate_starts_or_stops_being_valid() {
        // Leaf 100..=200, CA 50..=300, another bundle entry valid from 150.
        let windows = [(100, 200), (50, 300), (150, 400)];
        assert_eq!(
            ValidityEpoch::around(120, windows),
            ValidityEpoch {
                first: 100,
                last: 149
            }
        );
        assert_eq!(
            ValidityEpoch::around(160, windows),
            ValidityEpoch {
                first: 150,
                last: 200
            }
        );
        // After the leaf's end: until the CA's end.
        assert_eq!(
            ValidityEpoch::around(201, windows),
            ValidityEpoch {
                first: 201,
                last: 300
            }
        );
        let epoch = ValidityEpoch::around(120, windows);
        assert!(epoch.contains(at(100)) && epoch.contains(at(149)));
        assert!(!epoch.contains(at(99)) && !epoch.contains(at(150)));
        // The last second of validity is inside (webpki's comparison is inclusive).
        assert!(ValidityEpoch::around(200, windows).contains(at(200)));
        assert!(!ValidityEpoch::around(200, windows).contains(at(201)));
        // A certificate valid until the end of time.
        assert_eq!(
            ValidityEpoch::around(5, [(0, u64::MAX)]),
            ValidityEpoch {
                first: 0,
                last: u64::MAX
            }
        );
    }

    #[test]
    fn a_lookup_outside_the_epoch_is_stale_not_a_hit() {
        let cache = ChainCache::default();
        cache.insert(key(1), entry(100, 200));
        assert!(matches!(cache.get(&key(1), at(150)), Lookup::Hit(_)));
        assert!(matches!(cache.get(&key(1), at(201)), Lookup::Stale));
        assert!(matches!(cache.get(&key(1), at(99)), Lookup::Stale));
        assert!(matches!(cache.get(&key(2), at(150)), Lookup::Miss));
        cache.remove(&key(1));
        assert!(matches!(cache.get(&key(1), at(150)), Lookup::Miss));
    }

    #[test]
    fn the_least_recently_used_entry_goes_first() {
        let cache = ChainCache::with_capacity(3);
        for n in 0..3 {
            cache.insert(key(n), entry(0, u64::MAX));
        }
        // 0 is used again, so 1 is now the oldest.
        assert!(matches!(cache.get(&key(0), at(1)), Lookup::Hit(_)));
        cache.insert(key(3), entry(0, u64::MAX));
        assert_eq!(cache.len(), 3);
        assert!(matches!(cache.get(&key(1), at(1)), Lookup::Miss));
        for n in [0, 2, 3] {
            assert!(matches!(cache.get(&key(n), at(1)), Lookup::Hit(_)), "{n}");
        }
    }

    #[test]
    fn once_full_a_chain_gets_in_on_its_second_sighting() {
        let hit = |cache: &ChainCache, n| matches!(cache.get(&key(n), at(1)), Lookup::Hit(_));
        let cache = ChainCache::with_capacity(3);
        // What the verifier does after a miss: ask, then store.
        let admit = |cache: &ChainCache, n, entry| {
            let admitted = cache.admits(&key(n));
            if admitted {
                cache.insert(key(n), entry);
            }
            admitted
        };
        // While there is room, every verified chain is stored.
        for n in 0..3 {
            assert!(admit(&cache, n, entry(0, u64::MAX)), "{n}");
        }
        // Full: a chain seen for the first time is remembered as seen, and evicts nobody.
        assert!(!admit(&cache, 3, entry(0, u64::MAX)));
        assert!(matches!(cache.get(&key(3), at(1)), Lookup::Miss));
        assert_eq!(cache.len(), 3);
        assert!((0..3).all(|n| hit(&cache, n)));
        // Seen again: stored, in place of the least recently used entry.
        assert!(admit(&cache, 3, entry(0, u64::MAX)));
        assert!(hit(&cache, 3));
        assert!(!hit(&cache, 0), "0 was the least recently used");
        assert!(hit(&cache, 1) && hit(&cache, 2));
        // Forgotten, 0 too needs two sightings to get back in.
        assert!(!admit(&cache, 0, entry(0, u64::MAX)));
        assert!(admit(&cache, 0, entry(0, u64::MAX)));
        assert!(hit(&cache, 0));
        // A chain already stored is replaced at once.
        assert!(admit(&cache, 0, entry(5, 10)));
        assert!(matches!(cache.get(&key(0), at(1)), Lookup::Stale));
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn hits_and_floods_keep_the_table_bounded() {
        let cache = ChainCache::with_capacity(8);
        cache.insert(key(0), entry(0, u64::MAX));
        for _ in 0..1000 {
            assert!(matches!(cache.get(&key(0), at(1)), Lookup::Hit(_)));
        }
        for n in 1..1000 {
            cache.insert(key(n), entry(0, u64::MAX));
            // The hot entry is used between floods and survives them.
            assert!(matches!(cache.get(&key(0), at(1)), Lookup::Hit(_)));
        }
        let table = cache.lock();
        assert_eq!(table.entries.len(), 8);
        assert!(table.order.len() <= 4 * 8, "{}", table.order.len());
    }

    /// A certificate's structure with an empty validity: it splits, its validity does not read.
    const LEAF_WITHOUT_VALIDITY: [u8; 22] = [
        0x30, 0x14, 0x30, 0x0d, 0x02, 0x01, 0x01, 0x30, 0x00, 0x30, 0x00, 0x30, 0x00, 0x30, 0x00,
        0x30, 0x00, 0x30, 0x00, 0x03, 0x01, 0x00,
    ];

    #[test]
    fn a_chain_whose_validity_cannot_be_read_has_no_epoch() {
        // The in-place reading itself is tested with the reader (`tbs`).
        assert!(
            ValidityEpoch::of_chain(
                at(1),
                &CertificateParts::split(&LEAF_WITHOUT_VALIDITY).expect("split"),
                &[],
                &[]
            )
            .is_none()
        );
        let pki = vespa_tls_testkit::TestPki::builder()
            .build()
            .expect("test PKI");
        let node = pki.client_in_memory().expect("client");
        let leaf = CertificateParts::split(node.chain[0].as_ref()).expect("split");
        assert!(ValidityEpoch::of_chain(at(1), &leaf, &[], &[]).is_some());
        assert!(
            ValidityEpoch::of_chain(
                at(1),
                &leaf,
                &[CertificateDer::from(&b"not a certificate"[..])],
                &[]
            )
            .is_none(),
            "an intermediate that cannot be read"
        );
    }

    proptest! {
        /// Distinct (role, chain) pairs never share a key: the encoding is injective, so a
        /// shared key would be a SHA-256 collision.
        #[test]
        fn distinct_chains_never_share_a_key(
            a in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..6), 0..4),
            b in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..6), 0..4),
            role_a in any::<bool>(),
            role_b in any::<bool>(),
        ) {
            let role = |client| if client { PeerRole::Client } else { PeerRole::Server };
            let chain = |certs: &[Vec<u8>]| -> Vec<CertificateDer<'static>> {
                certs.iter().map(|c| CertificateDer::from(c.clone())).collect()
            };
            let same_input = a == b && role_a == role_b;
            let same_key = ChainKey::of(&chain(&a), role(role_a)) == ChainKey::of(&chain(&b), role(role_b));
            prop_assert_eq!(same_input, same_key);
        }

        /// Concatenations that cut the same bytes at other certificate boundaries differ.
        #[test]
        fn moving_a_boundary_changes_the_key(
            bytes in prop::collection::vec(any::<u8>(), 2..12),
            cut_a in 0usize..12,
            cut_b in 0usize..12,
        ) {
            let (cut_a, cut_b) = (cut_a % bytes.len(), cut_b % bytes.len());
            let split = |cut: usize| vec![
                CertificateDer::from(bytes[..cut].to_vec()),
                CertificateDer::from(bytes[cut..].to_vec()),
            ];
            let same = ChainKey::of(&split(cut_a), PeerRole::Client)
                == ChainKey::of(&split(cut_b), PeerRole::Client);
            prop_assert_eq!(same, cut_a == cut_b);
        }
    }
}
