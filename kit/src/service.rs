//! A service as the server mounts it: its router, the prefix it lives under (`/auth/v1`, …, or
//! none when its routes carry their own prefix, as REST's `/rest/v1` does), and the background
//! tasks it runs until [`Shutdown`].

use std::future::Future;
use std::pin::Pin;

use axum::Router;

use crate::Shutdown;

/// A long-lived task of a service, started with the server's shutdown signal.
pub type BackgroundTask =
    Box<dyn FnOnce(Shutdown) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// One service, ready to mount.
pub struct Service {
    /// A short name for logs (`rest`, `auth`, …).
    pub name: &'static str,
    /// Where its router is nested; `None` merges it at the root.
    pub prefix: Option<&'static str>,
    /// Its routes.
    pub router: Router,
    /// What it runs beside its routes until shutdown.
    pub tasks: Vec<BackgroundTask>,
}

impl Service {
    /// A service with routes only.
    pub fn new(name: &'static str, prefix: Option<&'static str>, router: Router) -> Self {
        Self {
            name,
            prefix,
            router,
            tasks: Vec::new(),
        }
    }

    /// Adds a background task.
    pub fn with_task<F, Fut>(mut self, task: F) -> Self
    where
        F: FnOnce(Shutdown) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.tasks.push(Box::new(move |stop| Box::pin(task(stop))));
        self
    }

    /// Adds this service's routes to `router`.
    pub fn mount(&mut self, router: Router) -> Router {
        let routes = std::mem::take(&mut self.router);
        match self.prefix {
            Some(prefix) => router.nest(prefix, routes),
            None => router.merge(routes),
        }
    }
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("name", &self.name)
            .field("prefix", &self.prefix)
            .field("tasks", &self.tasks.len())
            .finish()
    }
}
