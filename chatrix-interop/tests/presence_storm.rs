//! Many resources of one account coming online at once: every initial presence is reflected
//! to every available resource of the account while other logins bind (a writer on the
//! session registry). This once deadlocked the server: a delivery loop held the registry's
//! read lock and took it again while a login waited to write. The scenario must finish, and
//! every resource must end up having seen every other.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::im::{PASSWORD, online};
use support::{Backend, TestServer, with_accounts};

/// How many resources log in together.
const RESOURCES: usize = 24;

async fn many_resources_come_online_together(server: Arc<TestServer>) {
    let mut logins = tokio::task::JoinSet::new();
    for i in 0..RESOURCES {
        let server = Arc::clone(&server);
        logins.spawn(async move {
            let me = format!("alice@localhost/r{i}");
            let (client, got) = online(&server, "alice", &format!("r{i}"), None).await;
            (me, client, got)
        });
    }
    let mut clients = Vec::new();
    let all = async {
        while let Some(joined) = logins.join_next().await {
            clients.push(joined.unwrap_or_else(|e| panic!("login: {e}")));
        }
    };
    tokio::time::timeout(Duration::from_secs(60), all)
        .await
        .unwrap_or_else(|_| panic!("logins stalled: the server stopped answering"));
    // Each resource hears about the others (as their presence or as a reply to its own
    // initial presence): wait until every one has seen RESOURCES - 1 other presences.
    for (me, c, got) in &mut clients {
        let other = |e: &xmpp_core::Element| -> Option<String> {
            (e.name() == "presence")
                .then(|| e.attr("from"))
                .flatten()
                .filter(|from| *from != me.as_str())
                .map(str::to_owned)
        };
        let mut seen: std::collections::HashSet<String> = got.iter().filter_map(other).collect();
        let wait = async {
            while seen.len() < RESOURCES - 1 {
                let e = c.recv().await;
                if let Some(from) = other(&e) {
                    seen.insert(from);
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(20), wait).await;
        assert!(seen.len() >= RESOURCES - 1, "saw only {seen:?}");
    }
}

async fn run<F, Fut>(backend: Backend, extra: &str, scenario: F)
where
    F: FnOnce(Arc<TestServer>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    // A deadlocked server blocks the runtime's threads, timers included: a plain thread
    // watches the clock so that the test fails instead of hanging CI.
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watched = Arc::clone(&done);
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(90));
        if !watched.load(std::sync::atomic::Ordering::SeqCst) {
            eprintln!("presence_storm: no progress in 90 s, the server is stuck (deadlock?)");
            std::process::abort();
        }
    });
    with_accounts(backend, extra, &["alice"], PASSWORD, scenario).await;
    done.store(true, std::sync::atomic::Ordering::SeqCst);
}

// Not `on_both_backends!`: the deadlock needs worker threads running at once (a writer
// waiting on one while a reader re-enters on another), which a current-thread test runtime
// never has.
mod sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn many_resources_come_online_together() {
        super::run(
            super::Backend::Sqlite,
            "",
            super::many_resources_come_online_together,
        )
        .await;
    }
}

mod postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn many_resources_come_online_together() {
        super::run(
            super::Backend::Postgres,
            "",
            super::many_resources_come_online_together,
        )
        .await;
    }
}
