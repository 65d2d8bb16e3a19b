//! ALPN on top of a snapshot's rustls configs: the snapshot's config with our protocol list,
//! derived once per snapshot and reused for every connection on it.

use std::sync::{Arc, Mutex};

/// The protocols an acceptor or connector offers, and the last config derived with them.
#[derive(Debug)]
pub(crate) struct Alpn<C> {
    protocols: Vec<Vec<u8>>,
    /// The snapshot's config and ours derived from it (one reload replaces both).
    derived: Mutex<Option<(Arc<C>, Arc<C>)>>,
}

impl<C: Clone> Alpn<C> {
    pub(crate) fn new(protocols: Vec<Vec<u8>>) -> Self {
        Alpn {
            protocols,
            derived: Mutex::new(None),
        }
    }

    pub(crate) fn protocols(&self) -> &[Vec<u8>] {
        &self.protocols
    }

    /// `base` with our protocols: `base` itself when there are none.
    pub(crate) fn config(&self, base: Arc<C>, set: impl FnOnce(&mut C, Vec<Vec<u8>>)) -> Arc<C> {
        if self.protocols.is_empty() {
            return base;
        }
        let mut derived = match self.derived.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some((from, ours)) = &*derived
            && Arc::ptr_eq(from, &base)
        {
            return Arc::clone(ours);
        }
        let mut config = (*base).clone();
        set(&mut config, self.protocols.clone());
        let ours = Arc::new(config);
        *derived = Some((base, Arc::clone(&ours)));
        ours
    }
}

/// `h2`, `http/1.1` or the bytes escaped, for logs and `Debug`.
pub(crate) fn display(protocol: &[u8]) -> String {
    protocol.escape_ascii().to_string()
}
