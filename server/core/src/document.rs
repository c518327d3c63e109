//! Incrementally counted documents (to be completed: see issue 2).
