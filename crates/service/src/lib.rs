//! culprit as a service: a queue of bisections in PostgreSQL, workers on
//! any number of hosts that run them with the existing executors (and lend
//! each other a hand when a strategy asks for several commits at once), an
//! HTTP API and a live dashboard.
//!
//! - [`db`]: the connection (reconnecting) and the schema;
//! - [`spec`]: jobs as submitted, checked before they are stored;
//! - [`queue`]: claims, leases and fencing tokens, results;
//! - [`store`]: the journal of a job in the database;
//! - [`worker`]: the worker loop; [`spread`]: evaluations on other workers;
//! - [`http`], [`api`]: the HTTP server and its routes;
//! - [`local`]: PostgreSQL and Redis started on this machine (tests, demos).
#![deny(missing_docs)]

pub mod api;
pub mod db;
pub mod http;
pub mod joblog;
pub mod local;
pub mod queue;
pub mod spec;
pub mod spread;
pub mod store;
pub mod worker;
