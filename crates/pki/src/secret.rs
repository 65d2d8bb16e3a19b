//! PEM text of a private key: zeroised on drop, never printed.

use std::fmt;

use zeroize::Zeroizing;

/// The PEM text of a private key.
///
/// `Debug` prints `[secret elided]`; the text is zeroised when the value is dropped. Use
/// [`SecretPem::expose`] only to write it to a file or hand it to a parser.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretPem(Zeroizing<String>);

impl SecretPem {
    /// Wraps PEM text (the caller gives up its copy).
    pub fn new(pem: String) -> Self {
        SecretPem(Zeroizing::new(pem))
    }

    /// The PEM text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretPem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[secret elided]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let secret = SecretPem::new("-----BEGIN PRIVATE KEY-----\nAAAA\n".to_owned());
        assert_eq!(format!("{secret:?}"), "[secret elided]");
        assert!(secret.expose().contains("AAAA"));
    }
}
