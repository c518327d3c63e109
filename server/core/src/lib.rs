//! promptmeter's pure core. Nothing in this crate does I/O: no files, no network, no clock.
//! Callers hand it text and JSON; it hands back counts, sections, prices and costs.

pub mod budget;
pub mod catalog;
pub mod config;
pub mod document;
pub mod lint;
mod pretokenize;
pub mod pricing;
pub mod prompt_config;
pub mod routing;
pub mod sections;
pub mod tokenize;
pub mod usage;

pub use catalog::{Catalog, Model, ModelPrices};
pub use pricing::{Cost, cost_of};
pub use tokenize::{Encoding, TokenCount, Tokenizer};
pub use usage::Usage;
