//! The one stop signal of the process (axum's graceful-shutdown example, as a handle): the
//! server triggers it on SIGTERM / Ctrl-C, and every long-lived task (the schema-cache listener,
//! websockets, the replication reader, job workers) observes it and finishes its work.

use tokio::sync::watch;

/// Fires the shutdown; dropping it fires it too.
#[derive(Debug)]
pub struct ShutdownTrigger(watch::Sender<bool>);

/// Observes the shutdown (cheap to clone).
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// A new signal: the trigger and a first observer.
    pub fn new() -> (ShutdownTrigger, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (ShutdownTrigger(tx), Shutdown(rx))
    }

    /// True once the shutdown fired.
    pub fn is_signalled(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves when the shutdown fires (at once if it already has).
    pub async fn signalled(&mut self) {
        // An error means the trigger is gone, which counts as fired.
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

impl ShutdownTrigger {
    /// Fires the shutdown.
    pub fn fire(&self) {
        let _ = self.0.send(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_observer_sees_the_signal() {
        let (trigger, mut first) = Shutdown::new();
        let mut second = first.clone();
        assert!(!first.is_signalled());
        trigger.fire();
        first.signalled().await;
        second.signalled().await;
        assert!(second.is_signalled());
        let (trigger, mut dropped) = Shutdown::new();
        drop(trigger);
        dropped.signalled().await;
    }
}
