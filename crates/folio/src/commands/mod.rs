//! One module per subcommand.

pub mod backup;
pub mod docs;
pub mod events;
pub mod keys;
#[cfg(feature = "aws")]
pub mod lambda;
pub mod reindex;
pub mod render;
pub mod serve;
pub mod users;
