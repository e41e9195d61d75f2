//! The service layer: what both shells (the CLI and the desktop app) call,
//! so a rule is written once and both behave the same. Each function takes
//! what the shell parsed and returns typed results and kinded errors.

pub mod fleet;
pub mod profiles;
pub mod secrets;
