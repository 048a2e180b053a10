//! The wire types. Every constructor validates, so no value of these types can encode to
//! something the grammar does not allow.

pub mod capability;
pub mod command;
pub mod domain;
pub mod params;
pub mod path;
pub mod reply;
pub(crate) mod str;
pub mod text;
