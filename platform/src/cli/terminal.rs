//! `kiosk-platform terminal tag …`: tags on terminals, which rollouts can target.

use clap::Subcommand;
use kiosk_platform::{DbUrl, StoreError};

use super::{block_on, open_with_seed};

#[derive(Subcommand)]
pub enum TerminalCommand {
    /// Add or remove a terminal's tags (which rollouts can target); prints its tags.
    Tag {
        /// The terminal id.
        #[arg(long)]
        terminal: String,
        /// Tag to add (1 to 32 of a-z 0-9 - _ .); may be repeated.
        #[arg(long)]
        add: Vec<String>,
        /// Tag to remove; may be repeated.
        #[arg(long)]
        remove: Vec<String>,
        /// Database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE.
        #[arg(long, default_value = "sqlite://kiosk-platform.db")]
        db: DbUrl,
    },
}

/// Runs one `terminal` subcommand.
pub fn run(command: TerminalCommand) -> anyhow::Result<()> {
    let TerminalCommand::Tag {
        terminal,
        add,
        remove,
        db,
    } = command;
    let tags = block_on(async {
        let store = open_with_seed(&db).await?;
        let tags = store
            .tag_terminal(&terminal, &add, &remove)
            .await
            .map_err(|e| match e {
                StoreError::UnknownTerminal => {
                    anyhow::anyhow!("no terminal {terminal}")
                }
                other => other.into(),
            })?;
        if !add.is_empty() || !remove.is_empty() {
            store
                .audit(
                    "cli",
                    "terminal_tag",
                    &format!("{terminal}: +{} -{}", add.join(","), remove.join(",")),
                )
                .await?;
        }
        anyhow::Ok(tags)
    })?;
    println!(
        "{terminal}: {}",
        if tags.is_empty() {
            "no tags".to_owned()
        } else {
            tags.join(", ")
        }
    );
    Ok(())
}
