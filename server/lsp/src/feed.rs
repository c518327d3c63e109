//! The proxy's live feed (issue 6): subscribe, relay `promptmeter/spend`, alerts as
//! window/showMessage.

use std::sync::Mutex;

#[derive(Default)]
pub struct FeedHandle {
    pub task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

pub fn start(_state: &std::sync::Arc<crate::state::State>) {}

pub fn stop(state: &crate::state::State) {
    if let Some(t) = crate::state::lock(&state.feed.task).take() {
        t.abort();
    }
}
