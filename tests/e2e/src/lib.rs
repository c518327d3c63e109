//! Helpers for end-to-end tests: locating the binary, temp workspaces.
