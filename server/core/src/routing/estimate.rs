//! The cost a request reserves when it starts: its prompt at about four bytes of body per
//! token, all at the uncached input price (an over-estimate for cached prompts), and its
//! output capped at the request's own limit or `default_output` tokens, whichever is lower.
//! Fast (no tokenizer on the hot path) and on the high side; the actual cost replaces it when
//! the response ends.

use rust_decimal::Decimal;

use crate::catalog::Model;
use crate::pricing::cost_of;
use crate::usage::Usage;

pub const BYTES_PER_TOKEN: usize = 4;

/// `None` when the model has no price.
pub fn estimate_cost(model: &Model, body_len: usize, max_output: Option<u64>, default_output: u64) -> Option<Decimal> {
    let usage = Usage {
        input: body_len.div_ceil(BYTES_PER_TOKEN) as u64,
        output: max_output.map_or(default_output, |m| m.min(default_output)),
        ..Default::default()
    };
    cost_of(model, &usage, None).ok().map(|c| c.total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use rust_decimal_macros::dec;

    #[test]
    fn prompt_bytes_and_capped_output() {
        let cat = Catalog::bundled();
        let sonnet = cat.resolve("claude-sonnet-4-5").unwrap();
        // 4000 bytes = 1000 tokens at $3/M + 1000 output at $15/M = $0.018
        assert_eq!(estimate_cost(sonnet, 4000, Some(1000), 4096), Some(dec!(0.018)));
        // max_tokens 32000 is capped at the default 4096: $0.003 + $0.06144
        assert_eq!(estimate_cost(sonnet, 4000, Some(32000), 4096), Some(dec!(0.06444)));
        assert_eq!(estimate_cost(sonnet, 0, None, 0), Some(dec!(0)));
    }
}
