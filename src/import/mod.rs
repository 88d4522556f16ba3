//! Reading documents from the files people already have.
//!
//! Each submodule turns one file format into [`crate::Value`] documents; the `quarry import`
//! command and its statement form choose among them.

pub mod article;
