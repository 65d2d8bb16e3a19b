//! Every integration test of this crate, one module per area, in one test binary: one link
//! of rustls and aws-lc for the crate instead of one per file.

mod certificates;
mod extraction_oracle;
mod glob_linear;
mod glob_props;
pub mod oracle;
mod rules;
