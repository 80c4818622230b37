//! `kiosk-platform catalog import`: publishing a catalog file.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use kiosk_platform::DbUrl;
use kiosk_platform::catalog_text::read_catalog;

use super::{block_on, open_with_seed};

#[derive(Subcommand)]
pub enum CatalogCommand {
    /// Validate a catalog JSON file, spell its matters' pinyin for search and publish it as
    /// the current version.
    Import {
        /// The catalog file.
        file: PathBuf,
        /// Database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE.
        #[arg(long, default_value = "sqlite://kiosk-platform.db")]
        db: DbUrl,
    },
}

/// Runs one `catalog` subcommand.
pub fn run(command: CatalogCommand) -> anyhow::Result<()> {
    let CatalogCommand::Import { file, db } = command;
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let catalog =
        read_catalog(&text).with_context(|| format!("{} cannot be published", file.display()))?;
    block_on(async {
        let store = open_with_seed(&db).await?;
        store.publish_catalog(&catalog).await?;
        anyhow::Ok(())
    })?;
    println!(
        "published catalog {} ({} matters)",
        catalog.version,
        catalog.matters.len()
    );
    Ok(())
}
