//! Helpers for this crate's unit tests.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Runs a future that never waits (the memory store answers with ready futures, and the
/// conformance suite awaits nothing else).
pub(crate) fn block_on<F: Future>(f: F) -> F::Output {
    match pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("a future of the memory store waited"),
    }
}
