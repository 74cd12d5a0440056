mod digest;
pub(crate) mod gssapi;
pub mod sasl;
pub mod user;
