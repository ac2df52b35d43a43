//! kpush: deploy Kubernetes manifests from a git commit.
//!
//! The run is a pipeline of plain data: [`source`] (files at a commit) → [`render`] (objects)
//! → [`plan`] (what would change, from server dry runs) → [`apply`] (writes) → [`report`].
//! Only [`cluster`] talks to the Kubernetes API.

pub mod apply;
pub mod cancel;
pub mod ci;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod digest;
pub mod error;
pub mod exit;
pub mod health;
pub mod history;
pub mod images;
pub mod inventory;
pub mod object;
pub mod plan;
pub mod printer;
pub mod prune;
pub mod render;
pub mod report;
pub mod settings;
pub mod source;
pub mod wait;
