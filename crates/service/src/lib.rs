//! culprit as a service: a queue of bisections in PostgreSQL, workers on
//! any number of hosts that run them with the existing executors (and lend
//! each other a hand when a strategy asks for several commits at once), an
//! HTTP API and a live dashboard.
//!
//! - [`db`]: the connection (reconnecting) and the schema;
//! - [`spec`]: jobs as submitted, checked before they are stored;
//! - [`lease`]: claims, leases and fencing tokens;
//! - [`queue`]: jobs submitted, listed and read; the workers' roster;
//! - [`store`]: the journal of a job in the database;
//! - [`worker`]: the worker loop ([`shared`]: its state, [`workdir`]: its
//!   directories); [`spread`]: evaluations on other workers;
//! - [`shutdown`]: stopping on a signal; [`secrets`]: kept out of the
//!   commands' environment;
//! - [`http`], [`api`], [`events`], [`dashboard`]: the HTTP server, its
//!   routes and API, the live events and the dashboard's page (`pages`:
//!   the pages' routes, `web`: what the handlers share);
//!   [`pool`]: the server's database connections; [`metrics`],
//!   [`counters`]: `/metrics`; [`housekeeping`]: lost workers, old jobs;
//! - [`local`]: PostgreSQL and Redis started on this machine;
//! - [`logging`]: the structured log.
//!
//! The bisection page and its mail are `culprit-render`'s.
#![deny(missing_docs)]

pub mod api;
pub mod counters;
pub mod dashboard;
pub mod db;
pub mod events;
pub mod housekeeping;
pub mod http;
pub mod joblog;
pub mod lease;
pub mod local;
pub mod logging;
pub mod metrics;
pub(crate) mod pages;
pub mod pool;
pub mod queue;
pub mod secrets;
pub(crate) mod shared;
pub mod shutdown;
pub mod spec;
pub mod spread;
pub mod store;
pub(crate) mod web;
pub mod workdir;
pub mod worker;
