//! Configuration: TOML user file + per-project .promptmeter.toml.
