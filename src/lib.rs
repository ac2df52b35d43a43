//! kpush: deploy Kubernetes manifests from a git commit.
//!
//! The run is a pipeline of plain data: [`source`] (files at a commit) → [`render`] (objects)
//! → [`plan`] (what would change, from server dry runs) → [`deploy`] (the engine: staged
//! writes, health, prune, inventory, history, lock) → [`report`]. Only [`cluster`] talks to
//! the Kubernetes API, and only [`deploy`] calls it during a deploy. See
//! `docs/architecture.md`.

pub mod apps;
pub mod cancel;
pub mod ci;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod deploy;
pub mod digest;
pub mod error;
pub mod exit;
pub mod health;
pub mod images;
pub mod input;
pub mod inventory;
pub mod object;
pub mod plan;
pub mod printer;
pub mod registry;
pub mod render;
pub mod report;
pub mod settings;
pub mod source;
