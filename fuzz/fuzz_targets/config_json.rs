//! Any bytes → `parse_slice`: never panics; whatever parses serialises with `to_json` and
//! re-parses to an equal value, whose canonical form is the same text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (options, diagnostics) = match vespa_tls_config::parse_slice(data) {
        Ok(parsed) => parsed,
        Err(error) => {
            let _ = error.to_string();
            return;
        }
    };
    for finding in &diagnostics {
        let _ = finding.to_string();
    }
    let json = options.to_json();
    let (again, _) = vespa_tls_config::parse(&json)
        .unwrap_or_else(|e| panic!("canonical JSON does not parse: {e}\n{json}"));
    assert_eq!(again, options, "round trip changed the options\n{json}");
    assert_eq!(again.to_json(), json, "canonical JSON is not stable");
});
