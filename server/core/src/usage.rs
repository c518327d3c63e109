//! The provider-neutral usage of one response, normalized so that every token is in exactly
//! one bucket. Each provider reports usage differently; the constructors here encode those
//! rules once:
//! - Anthropic: `input_tokens` already excludes cache reads and cache writes.
//! - OpenAI (Chat Completions and Responses): `prompt_tokens`/`input_tokens` INCLUDES
//!   `cached_tokens`; `completion_tokens`/`output_tokens` INCLUDES `reasoning_tokens`.
//! - Gemini: `promptTokenCount` INCLUDES `cachedContentTokenCount`; `candidatesTokenCount`
//!   EXCLUDES `thoughtsTokenCount`, which is billed as output.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens billed at the plain input price (no cache involved).
    pub input: u64,
    /// Input tokens read from the prompt cache.
    pub cache_read: u64,
    /// Input tokens written to a 5-minute cache.
    pub cache_write_5m: u64,
    /// Input tokens written to a 1-hour cache.
    pub cache_write_1h: u64,
    /// All billed output tokens, reasoning included.
    pub output: u64,
    /// The part of `output` that was reasoning/thinking.
    pub reasoning: u64,
}

impl Usage {
    /// Anthropic Messages usage. `cache_creation_5m`/`_1h` come from the `cache_creation`
    /// object when present; when only the total `cache_creation_input_tokens` is known, pass
    /// it as `cache_creation_total` and it is counted as 5-minute writes (the default TTL).
    pub fn from_anthropic(
        input_tokens: u64,
        cache_read_input_tokens: u64,
        cache_creation_total: u64,
        cache_creation_5m: Option<u64>,
        cache_creation_1h: Option<u64>,
        output_tokens: u64,
    ) -> Self {
        let (w5, w1) = match (cache_creation_5m, cache_creation_1h) {
            (None, None) => (cache_creation_total, 0),
            (a, b) => (a.unwrap_or(0), b.unwrap_or(0)),
        };
        Usage {
            input: input_tokens,
            cache_read: cache_read_input_tokens,
            cache_write_5m: w5,
            cache_write_1h: w1,
            output: output_tokens,
            reasoning: 0,
        }
    }

    /// OpenAI usage: `prompt_tokens` includes `cached_tokens`; `completion_tokens` includes
    /// `reasoning_tokens`.
    pub fn from_openai(prompt_tokens: u64, cached_tokens: u64, completion_tokens: u64, reasoning_tokens: u64) -> Self {
        Usage {
            input: prompt_tokens.saturating_sub(cached_tokens),
            cache_read: cached_tokens.min(prompt_tokens),
            cache_write_5m: 0,
            cache_write_1h: 0,
            output: completion_tokens,
            reasoning: reasoning_tokens.min(completion_tokens),
        }
    }

    /// Gemini `usageMetadata`: `promptTokenCount` includes `cachedContentTokenCount`;
    /// thoughts are billed as output on top of `candidatesTokenCount`.
    pub fn from_gemini(
        prompt_token_count: u64,
        cached_content_token_count: u64,
        candidates_token_count: u64,
        thoughts_token_count: u64,
    ) -> Self {
        Usage {
            input: prompt_token_count.saturating_sub(cached_content_token_count),
            cache_read: cached_content_token_count.min(prompt_token_count),
            cache_write_5m: 0,
            cache_write_1h: 0,
            output: candidates_token_count + thoughts_token_count,
            reasoning: thoughts_token_count,
        }
    }

    /// Every input token of the request, cached or not: the prompt's size, which is what
    /// long-context tiers and context-window shares are measured against.
    pub fn prompt_tokens(&self) -> u64 {
        self.input + self.cache_read + self.cache_write_5m + self.cache_write_1h
    }

    pub fn cache_write(&self) -> u64 {
        self.cache_write_5m + self.cache_write_1h
    }

    pub fn add(&mut self, other: &Usage) {
        self.input += other.input;
        self.cache_read += other.cache_read;
        self.cache_write_5m += other.cache_write_5m;
        self.cache_write_1h += other.cache_write_1h;
        self.output += other.output;
        self.reasoning += other.reasoning;
    }
}
