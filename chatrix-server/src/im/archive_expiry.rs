//! Archive retention (XEP-0313 leaves it to the server): a background task of the running
//! server, no cron. Every interval it removes what is older than the retention period and
//! trims each archive to its account class's cap, oldest first.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use xmpp_mam::ArchiveStore;

use super::Im;
use crate::clock::Clock;
use crate::storage::{AccountJid, StorageError};

/// What the expiry task enforces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// Messages older than this are removed (`None`: kept forever).
    pub max_age: Option<Duration>,
    /// The archive cap of each account class (`None`: no cap), and of the default class.
    pub caps: crate::im::ClassLimits<Option<u64>>,
}

impl Im {
    /// One pass of the retention rules; returns how many messages were removed.
    pub(crate) async fn expire_archive(
        &self,
        now: SystemTime,
        retention: &Retention,
    ) -> Result<u64, StorageError> {
        let mut removed = 0;
        if let Some(age) = retention.max_age
            && let Some(before) = now.checked_sub(age)
        {
            removed += self.storage.remove_older_than(before).await?;
        }
        // The smallest cap finds every archive that may be over its own cap.
        let Some(smallest) = retention.caps.smallest() else {
            return Ok(removed);
        };
        for owner in self.storage.owners_over(smallest).await? {
            let Ok(account) = AccountJid::try_from(owner.clone()) else {
                continue;
            };
            let class = self.storage.account_class(&account).await?;
            if let Some(cap) = retention.caps.of(class.as_deref()) {
                removed += self.storage.trim(&owner, cap).await?;
            }
        }
        Ok(removed)
    }

    /// Runs [`Self::expire_archive`] every `interval` until the task is dropped. A failed
    /// pass is logged and tried again at the next interval.
    pub(crate) async fn run_archive_expiry(
        self: Arc<Self>,
        clock: Arc<dyn Clock>,
        retention: Retention,
        interval: Duration,
    ) {
        if retention.max_age.is_none() && retention.caps.smallest().is_none() {
            return;
        }
        let mut ticker = tokio::time::interval(interval);
        loop {
            ticker.tick().await;
            match self.expire_archive(clock.now(), &retention).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "archive retention applied"),
                Err(e) => tracing::error!(error = %e, "archive retention failed; retrying later"),
            }
        }
    }
}
