//! Splitting a PEM file into labelled blocks.
//!
//! rustls-pki-types decodes the blocks it knows and silently skips the others — including
//! `ENCRYPTED PRIVATE KEY` — so we find every `BEGIN` line ourselves first, then let
//! pki-types decode each known block.

use std::path::Path;

use rustls_pki_types::pem::{PemObject as _, SectionKind};
use zeroize::Zeroizing;

use crate::error::MaterialError;

/// One PEM block.
pub(crate) struct Block {
    /// The label between `BEGIN ` and `-----`, e.g. `CERTIFICATE`.
    pub(crate) label: String,
    /// 1-based position among all blocks of the file.
    pub(crate) index: usize,
    /// Whether RFC 1421 headers say the block is encrypted (`Proc-Type: 4,ENCRYPTED`).
    pub(crate) encrypted_header: bool,
    /// The decoded DER for labels pki-types knows; zeroised on drop (it may be a key).
    pub(crate) decoded: Option<Decoded>,
}

/// A block's kind and DER.
pub(crate) type Decoded = (SectionKind, Zeroizing<Vec<u8>>);

impl Block {
    /// `a CERTIFICATE block (block 2)`.
    pub(crate) fn describe(&self) -> String {
        format!("{} (block {})", self.describe_kind(), self.index)
    }

    /// `a CERTIFICATE block`.
    pub(crate) fn describe_kind(&self) -> String {
        let label = shown(&self.label);
        format!("{} {label} block", article(label))
    }
}

/// Labels longer than the longest in RFC 7468 (`NEW CERTIFICATE REQUEST`) are not shown.
const MAX_SHOWN_LABEL: usize = 23;

/// A label as messages show it: only when it looks like one (upper-case words, digits, dots,
/// at most [`MAX_SHOWN_LABEL`] characters). Anything else on a BEGIN or END line may be file
/// content — a key pasted without line breaks makes its whole body the "label" — so it is
/// replaced, and no error quotes it.
pub(crate) fn shown(label: &str) -> &str {
    let plausible = !label.is_empty()
        && label.len() <= MAX_SHOWN_LABEL
        && label
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ' || b == b'.');
    if plausible {
        label
    } else {
        "<unrecognised label>"
    }
}

/// `a` or `an`, as the label is read aloud (`an RSA PRIVATE KEY`, `an EC PRIVATE KEY`).
pub(crate) fn article(label: &str) -> &'static str {
    let first = label.chars().next().unwrap_or('X');
    if "AEIOU".contains(first) || label.starts_with("RSA") || label.starts_with("X509") {
        "an"
    } else {
        "a"
    }
}

/// Every block of the file, in order.
pub(crate) fn blocks(path: &Path, bytes: &[u8]) -> Result<Vec<Block>, MaterialError> {
    let mut out = Vec::new();
    let mut lines = LineIter {
        rest: bytes,
        offset: 0,
    };
    while let Some((start, line)) = lines.next() {
        let Some(label) = marker(line, "-----BEGIN ") else {
            continue;
        };
        let index = out.len() + 1;
        let mut encrypted_header = false;
        let mut in_headers = true;
        let mut end = None;
        for (line_start, inner) in lines.by_ref() {
            if let Some(end_label) = marker(inner, "-----END ") {
                if end_label != label {
                    return Err(MaterialError::MalformedPem {
                        path: path.to_owned(),
                        reason: format!(
                            "a BEGIN {} line closed by END {} (block {index})",
                            shown(&label),
                            shown(&end_label)
                        ),
                    });
                }
                end = Some(line_start + inner.len());
                break;
            }
            if in_headers {
                if inner.contains(&b':') {
                    if inner.starts_with(b"Proc-Type:")
                        && inner.windows(9).any(|w| w == b"ENCRYPTED")
                    {
                        encrypted_header = true;
                    }
                } else {
                    in_headers = false;
                }
            }
        }
        let Some(end) = end else {
            return Err(MaterialError::MalformedPem {
                path: path.to_owned(),
                reason: format!(
                    "a BEGIN {} line with no END line (block {index})",
                    shown(&label)
                ),
            });
        };
        let decoded = if encrypted_header || SectionKind::try_from(label.as_bytes()).is_err() {
            None
        } else {
            decode(path, &bytes[start..end], index)?
        };
        out.push(Block {
            label,
            index,
            encrypted_header,
            decoded,
        });
    }
    Ok(out)
}

fn decode(path: &Path, block: &[u8], index: usize) -> Result<Option<Decoded>, MaterialError> {
    match <(SectionKind, Vec<u8>)>::pem_slice_iter(block).next() {
        Some(Ok((kind, der))) => Ok(Some((kind, Zeroizing::new(der)))),
        Some(Err(e)) => Err(MaterialError::MalformedPem {
            path: path.to_owned(),
            reason: format!(
                "block {index} that does not decode: {}",
                describe_pem_error(&e)
            ),
        }),
        None => Err(MaterialError::MalformedPem {
            path: path.to_owned(),
            reason: format!("block {index} that does not decode"),
        }),
    }
}

/// The PEM parser's error without echoing the offending line (it could be part of a key).
fn describe_pem_error(e: &rustls_pki_types::pem::Error) -> &'static str {
    use rustls_pki_types::pem::Error;
    match e {
        Error::MissingSectionEnd { .. } => "no END line",
        Error::IllegalSectionStart { .. } => "an illegal BEGIN line",
        Error::Base64Decode(_) => "invalid base64",
        _ => "malformed PEM",
    }
}

/// The label of a `-----BEGIN LABEL-----` / `-----END LABEL-----` line.
fn marker(line: &[u8], prefix: &str) -> Option<String> {
    let line = trim(line);
    let rest = line.strip_prefix(prefix.as_bytes())?;
    let label = rest.strip_suffix(b"-----")?;
    std::str::from_utf8(label).ok().map(str::to_owned)
}

fn trim(line: &[u8]) -> &[u8] {
    let end = line
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    let start = line
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(end);
    &line[start..end]
}

/// Lines with their byte offset, without the line ending.
struct LineIter<'a> {
    rest: &'a [u8],
    offset: usize,
}

impl<'a> Iterator for LineIter<'a> {
    type Item = (usize, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let start = self.offset;
        let (line, consumed) = match self.rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&self.rest[..i], i + 1),
            None => (self.rest, self.rest.len()),
        };
        self.rest = &self.rest[consumed..];
        self.offset += consumed;
        Some((start, trim(line)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_labels_the_parser_skips() {
        let text = b"junk\n-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let found = blocks(Path::new("/k"), text).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].label, "ENCRYPTED PRIVATE KEY");
        assert!(found[0].decoded.is_none());
        assert_eq!(
            found[0].describe(),
            "an ENCRYPTED PRIVATE KEY block (block 1)"
        );
    }

    #[test]
    fn sees_legacy_encryption_headers_and_crlf() {
        let text = b"-----BEGIN EC PRIVATE KEY-----\r\nProc-Type: 4,ENCRYPTED\r\nDEK-Info: AES-256-CBC,00\r\n\r\nAAAA\r\n-----END EC PRIVATE KEY-----\r\n";
        let found = blocks(Path::new("/k"), text).unwrap();
        assert!(found[0].encrypted_header);
    }

    #[test]
    fn malformed_blocks_are_errors_without_content() {
        let missing_end = b"-----BEGIN CERTIFICATE-----\nAAAA\n";
        let err = blocks(Path::new("/c"), missing_end).err().unwrap();
        assert_eq!(
            err.to_string(),
            "/c: expected well-formed PEM, found a BEGIN CERTIFICATE line with no END line (block 1)"
        );
        let bad_base64 =
            b"-----BEGIN PRIVATE KEY-----\nsecret!!material\n-----END PRIVATE KEY-----\n";
        let err = blocks(Path::new("/k"), bad_base64).err().unwrap();
        assert!(err.to_string().contains("invalid base64"), "{err}");
        assert!(!err.to_string().contains("secret"), "{err}");
        let crossed = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(blocks(Path::new("/c"), crossed).is_err());
    }

    /// Found by the `pem_material` fuzz target: an END line whose "label" held text copied
    /// from a key was quoted in the error.
    #[test]
    fn labels_that_may_be_content_are_not_quoted() {
        let end_with_content = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END C\0\x01<&@qIuKxnlo8GJF1At7n5LEWoNyYt8+satO3Gl+b3Jy\0ERTIFICATE-----\n";
        let err = blocks(Path::new("/c"), end_with_content).err().unwrap();
        assert_eq!(
            err.to_string(),
            "/c: expected well-formed PEM, found a BEGIN CERTIFICATE line closed by END <unrecognised label> (block 1)"
        );
        // A key pasted without its line breaks: the whole body sits between BEGIN and the
        // last `-----`.
        let one_line = b"-----BEGIN PRIVATE KEY-----MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg-----END PRIVATE KEY-----\n";
        let err = blocks(Path::new("/k"), one_line).err().unwrap();
        assert_eq!(
            err.to_string(),
            "/k: expected well-formed PEM, found a BEGIN <unrecognised label> line with no END line (block 1)"
        );
        assert!(!err.to_string().contains("MIGHAgEA"), "{err}");
        let odd = b"-----BEGIN secret-looking-text-----\nAAAA\n-----END secret-looking-text-----\n";
        let found = blocks(Path::new("/c"), odd).unwrap();
        assert_eq!(
            found[0].describe(),
            "a <unrecognised label> block (block 1)"
        );
    }

    #[test]
    fn articles() {
        assert_eq!(article("RSA PRIVATE KEY"), "an");
        assert_eq!(article("EC PRIVATE KEY"), "an");
        assert_eq!(article("PRIVATE KEY"), "a");
        assert_eq!(article("CERTIFICATE"), "a");
        assert_eq!(article("OPENSSH PRIVATE KEY"), "an");
    }
}
