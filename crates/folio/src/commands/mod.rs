//! One module per subcommand.

pub mod render;
