//! `kiosk-platform appointment add`: appointments booked elsewhere (the portal, the phone
//! app), for citizens to check in at a terminal.

use anyhow::Context;
use clap::Subcommand;
use kiosk_platform::DbUrl;
use kiosk_protocol::Catalog;

use super::{block_on, open_with_seed};

#[derive(Subcommand)]
pub enum AppointmentCommand {
    /// Book an appointment: the citizen checks in at a terminal of the site on the day, with
    /// the code (its QR code) or their ID card.
    Add {
        /// The appointment code, e.g. YY202611220042.
        #[arg(long)]
        code: String,
        /// The citizen's ID number (stored only as a keyed hash).
        #[arg(long)]
        id_number: String,
        /// The citizen's name as on their ID card (stored only inside a keyed hash with the
        /// ID number): checking in by card needs the card's number and name to match.
        #[arg(long)]
        name: String,
        /// The matter booked.
        #[arg(long)]
        matter: String,
        /// Site (hall, branch).
        #[arg(long)]
        site: String,
        /// Day, YYYY-MM-DD (default: today in Beijing).
        #[arg(long)]
        day: Option<String>,
        /// Time slot, e.g. 09:30-10:00.
        #[arg(long, default_value = "09:00-12:00")]
        slot: String,
        /// Database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE.
        #[arg(long, default_value = "sqlite://kiosk-platform.db")]
        db: DbUrl,
        /// The platform's key file (the ID number is indexed with its applicant key).
        #[arg(long = "keys", value_name = "PATH")]
        key_file: std::path::PathBuf,
    },
}

/// Books an appointment after checking each field as check-in will read it.
pub fn run(command: AppointmentCommand) -> anyhow::Result<()> {
    let AppointmentCommand::Add {
        code,
        id_number,
        name,
        matter,
        site,
        day,
        slot,
        db,
        key_file,
    } = command;
    let code = code.to_ascii_uppercase();
    kiosk_protocol::CheckInRequest {
        code: Some(code.clone()),
        id_number: None,
        name: None,
    }
    .validate()
    .map_err(|e| anyhow::anyhow!("--code: {}", e.message))?;
    kiosk_protocol::ProgressRequest {
        id_number: id_number.clone(),
        name: Some(name.clone()),
    }
    .validate()
    .map_err(|e| anyhow::anyhow!("--id-number, --name: {}", e.message))?;
    let day = day.unwrap_or_else(kiosk_platform::store::today);
    let valid_day = day.len() == 10
        && time::Date::parse(
            &day,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .is_ok();
    anyhow::ensure!(valid_day, "--day must be a date like 2026-11-22");
    anyhow::ensure!(
        !site.is_empty() && site.chars().count() <= 64 && !site.chars().any(char::is_control),
        "--site must be 1 to 64 characters without control characters"
    );
    anyhow::ensure!(
        !slot.is_empty() && slot.len() <= 32 && !slot.chars().any(char::is_control),
        "--slot must be 1 to 32 characters, e.g. 09:30-10:00"
    );
    block_on(async {
        let store = open_with_seed(&db).await?;
        store.use_keys(super::keys::load(&key_file)?).await?;
        let published = store.current_catalog().await?;
        let catalog: Catalog =
            serde_json::from_str(&published.body).context("the published catalog is unreadable")?;
        anyhow::ensure!(
            catalog.matter(&matter).is_some(),
            "--matter: no matter `{matter}` in the published catalog"
        );
        store
            .create_appointment(&code, &id_number, &name, &matter, &site, &day, &slot)
            .await
            .with_context(|| format!("cannot book {code} (is the code already booked?)"))?;
        anyhow::Ok(())
    })?;
    println!("appointment {code}: {matter} at {site} on {day} {slot}");
    Ok(())
}
