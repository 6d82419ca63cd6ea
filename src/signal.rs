//! SIGINT and SIGTERM, handled alike by every long-running command: the first one
//! flips a [`Stop`], and each wait of the command selects on it, so that what runs stops, what
//! was written is kept, nothing is left running here, and the command exits 130. Not pure: it
//! installs the process's signal handlers.

use std::sync::{Arc, OnceLock};

use tokio::sync::watch;

/// Resolves when the process receives SIGINT (Ctrl-C) or SIGTERM, with the signal's name.
pub async fn signalled() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}

/// A command's stop: flips once, on the first SIGINT or SIGTERM after [`Stop::on_signals`] (or
/// on [`Stop::stop`]), and says why. Clones share it.
#[derive(Clone, Debug)]
pub struct Stop {
    flag: Arc<watch::Sender<bool>>,
    why: Arc<OnceLock<&'static str>>,
}

impl Default for Stop {
    fn default() -> Self {
        Self::new()
    }
}

impl Stop {
    /// A stop that only [`Stop::stop`] flips.
    pub fn new() -> Self {
        Self {
            flag: Arc::new(watch::channel(false).0),
            why: Arc::default(),
        }
    }

    /// A stop that the first SIGINT or SIGTERM flips. The handlers are in place when this
    /// returns (a signal from then on is not lost, nor does it end the process at once); call it
    /// inside the runtime, at the start of the command.
    pub fn on_signals() -> Self {
        let stop = Self::new();
        let flip = stop.clone();
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            if let (Ok(mut int), Ok(mut term)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) {
                tokio::spawn(async move {
                    let name = tokio::select! {
                        _ = int.recv() => "SIGINT",
                        _ = term.recv() => "SIGTERM",
                    };
                    flip.stop(name);
                });
                return stop;
            }
        }
        tokio::spawn(async move {
            let name = signalled().await;
            flip.stop(name);
        });
        stop
    }

    /// Flips the stop, `why` being the signal's name (the first reason given is kept).
    pub fn stop(&self, why: &'static str) {
        let _ = self.why.set(why);
        self.flag.send_replace(true);
    }

    /// The signal that flipped it, if it has been.
    pub fn signal(&self) -> Option<&'static str> {
        if *self.flag.borrow() {
            self.why.get().copied()
        } else {
            None
        }
    }

    /// Resolves when it flips (at once if it has), with the signal's name.
    pub async fn signalled(&self) -> &'static str {
        let mut rx = self.flag.subscribe();
        let _ = rx.wait_for(|s| *s).await;
        self.why.get().copied().unwrap_or("SIGINT")
    }

    /// A receiver that turns true when it flips, for the code that takes a plain
    /// `watch::Receiver<bool>` (the load's sender).
    pub fn flag(&self) -> watch::Receiver<bool> {
        self.flag.subscribe()
    }

    /// Runs `work` until it ends or the stop flips (`Err` with the signal's name); `work` is
    /// dropped in that case, and with it what it owns (child processes, temporary folders).
    pub async fn run<T>(
        &self,
        work: impl std::future::Future<Output = T>,
    ) -> Result<T, &'static str> {
        if let Some(s) = self.signal() {
            return Err(s);
        }
        tokio::select! {
            done = work => Ok(done),
            s = self.signalled() => Err(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn a_stop_flips_once_and_keeps_its_first_reason() {
        block(async {
            let stop = Stop::new();
            let flag = stop.flag();
            assert_eq!(stop.signal(), None);
            assert!(!*flag.borrow());
            let waiter = tokio::spawn({
                let s = stop.clone();
                async move { s.signalled().await }
            });
            stop.stop("SIGTERM");
            stop.stop("SIGINT");
            assert_eq!(waiter.await.unwrap(), "SIGTERM");
            assert_eq!(stop.signal(), Some("SIGTERM"));
            assert!(*flag.borrow(), "the plain receiver sees it too");
            assert_eq!(
                stop.signalled().await,
                "SIGTERM",
                "resolves at once once flipped"
            );
        });
    }

    #[test]
    fn run_drops_the_work_when_the_stop_flips() {
        block(async {
            let stop = Stop::new();
            assert_eq!(stop.run(async { 7 }).await, Ok(7));
            let dropped = Arc::new(std::sync::atomic::AtomicBool::new(false));
            struct Guard(Arc<std::sync::atomic::AtomicBool>);
            impl Drop for Guard {
                fn drop(&mut self) {
                    self.0.store(true, std::sync::atomic::Ordering::SeqCst);
                }
            }
            let guard = Guard(dropped.clone());
            let flipper = stop.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                flipper.stop("SIGINT");
            });
            let work = async move {
                let _g = guard;
                tokio::time::sleep(Duration::from_secs(30)).await;
            };
            assert_eq!(stop.run(work).await, Err("SIGINT"));
            assert!(
                dropped.load(std::sync::atomic::Ordering::SeqCst),
                "what the work owned is gone"
            );
            assert_eq!(
                stop.run(async { 1 }).await,
                Err("SIGINT"),
                "a flipped stop runs nothing"
            );
        });
    }

    #[cfg(unix)]
    #[test]
    fn sigterm_to_this_process_flips_it() {
        block(async {
            let stop = Stop::on_signals();
            let me = std::process::id().to_string();
            let sent = tokio::process::Command::new("kill")
                .args(["-TERM", &me])
                .status()
                .await
                .unwrap();
            assert!(sent.success());
            let got = tokio::time::timeout(Duration::from_secs(10), stop.signalled()).await;
            assert_eq!(got, Ok("SIGTERM"));
        });
    }
}
