//! The server under test as a child process: started on a config file, killed with SIGKILL,
//! started again on the same data dir and database.

use std::fs::OpenOptions;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use crate::client::Error;

/// How long a start may take (migrations on PostgreSQL, a debug build).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How to run the server, and the running process if any.
#[derive(Debug)]
pub(crate) struct Server {
    pub(crate) bin: PathBuf,
    pub(crate) config: PathBuf,
    /// Its working directory (relative paths in the config are relative to the config file
    /// anyway; this is where a core dump or stray file would land).
    pub(crate) dir: PathBuf,
    /// Both runs' output, appended.
    pub(crate) log: PathBuf,
    /// The Direct TLS listener, polled until it accepts connections.
    pub(crate) addr: SocketAddr,
    pub(crate) child: Option<Child>,
}

impl Server {
    /// Starts the server and waits until its listener accepts connections.
    pub(crate) async fn start(&mut self) -> Result<(), Error> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let child = Command::new(&self.bin)
            .arg("--config")
            .arg(&self.config)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.bin.display()))?;
        self.child = Some(child);
        let started = Instant::now();
        loop {
            if TcpStream::connect(self.addr).await.is_ok() {
                return Ok(());
            }
            if let Some(child) = &mut self.child
                && let Some(status) = child.try_wait()?
            {
                self.child = None;
                return Err(format!("the server exited at start-up: {status}").into());
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(format!(
                    "the server did not listen on {} within {START_TIMEOUT:?}",
                    self.addr
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL (what `Child::kill` sends on Unix): no shutdown code runs, no buffer is
    /// flushed. Waits for the process to be gone.
    pub(crate) fn kill(&mut self) -> Result<(), Error> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Never leave a server behind, whatever failed.
        let _ = self.kill();
    }
}
