//! One module per subcommand.

pub mod backup;
pub mod docs;
pub mod events;
pub mod keys;
pub mod reindex;
pub mod render;
pub mod serve;
pub mod users;
