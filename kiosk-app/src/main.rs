//! `kiosk`: the 连易办 terminal runtime.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::{Parser, Subcommand};
use kiosk_app::config::{DEFAULT_LAST_GOOD_PATH, DEFAULT_PATH, KioskConfig};
use kiosk_app::runtime::RuntimeConfig;
use kiosk_app::screen::display::Display;
use kiosk_app::session::KeySource;
use kiosk_app::uplink::identity::{IdentityError, TerminalIdentity};
use kiosk_app::uplink::outbox::Outbox;
use kiosk_app::uplink::platform_link::PlatformLink;
use kiosk_ui::KioskWindow;
use slint::ComponentHandle;

#[derive(Parser)]
#[command(
    name = "kiosk",
    version,
    about = "连易办 government self-service terminal"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the terminal with the devices and platform named in its configuration file.
    Run {
        /// Configuration file.
        #[arg(long, default_value = DEFAULT_PATH)]
        config: PathBuf,
        /// Copy of the last configuration accepted, used when the file above is refused.
        #[arg(long, default_value = DEFAULT_LAST_GOOD_PATH)]
        last_good: PathBuf,
    },
    /// List the configured devices and how each is doing.
    Devices {
        /// Configuration file.
        #[arg(long, default_value = DEFAULT_PATH)]
        config: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Exercise every configured device and the platform link; exits non-zero naming what failed.
    Selftest {
        /// Configuration file.
        #[arg(long, default_value = DEFAULT_PATH)]
        config: PathBuf,
        /// Print JSON instead of lines.
        #[arg(long)]
        json: bool,
        /// Also print the printer's test page.
        #[arg(long)]
        test_page: bool,
    },
    /// Enroll this terminal with the platform: the payload is what the enrollment QR code
    /// carries (`kiosk-platform token create` prints it). Makes the terminal's key pair, enrolls,
    /// checks the signed link, then runs the self-test.
    Provision {
        /// The enrollment payload (JSON), or `-` to read it from standard input.
        payload: String,
        /// Configuration file.
        #[arg(long, default_value = DEFAULT_PATH)]
        config: PathBuf,
        /// Enroll again even though this terminal has an identity (new key, same terminal).
        #[arg(long)]
        force: bool,
    },
    /// Technician access.
    Maintenance {
        #[command(subcommand)]
        command: MaintenanceCommand,
    },
    /// What waits in the outbox, and delivering it now.
    Outbox {
        #[command(subcommand)]
        command: OutboxCommand,
    },
    /// Software updates: status, check, apply, rollback.
    Update {
        #[command(subcommand)]
        command: kiosk_app::update::cli::UpdateCommand,
    },
    /// Talk to one device directly: checks and diagnostics for technicians.
    Device {
        #[command(subcommand)]
        device: kiosk_app::technician::device_cli::DeviceCommand,
    },
    /// Run the terminal headless, driven by JSON-line steps on standard input (tap, type,
    /// write, card, lift, scan, wait, screenshot, read); each step is answered on standard
    /// output with the screen as JSON, personal data masked. Exits 3 if a step was refused.
    Drive(DriveArgs),
}

#[derive(clap::Args)]
struct DriveArgs {
    /// Configuration file (the terminal must be enrolled; stop kiosk.service first, as both
    /// would open the same devices).
    #[arg(long, default_value = DEFAULT_PATH)]
    config: PathBuf,
    /// Print personal data (names, ID numbers, phones, answers) as shown instead of masked.
    #[arg(long)]
    reveal: bool,
    /// Allow `screenshot` steps, writing PNGs into this folder (they show the screen as the
    /// citizen sees it, personal data included).
    #[arg(long, value_name = "DIR")]
    screenshots: Option<PathBuf>,
    /// Control socket of the ID-card reader simulator (`kiosk-sim idcard --control`), for
    /// `card` and `lift` steps.
    #[arg(long, value_name = "SOCKET")]
    card_control: Option<PathBuf>,
    /// Control socket of the scanner simulator (`kiosk-sim scanner --control`), for `scan`.
    #[arg(long, value_name = "SOCKET")]
    scanner_control: Option<PathBuf>,
}

#[derive(Subcommand)]
enum MaintenanceCommand {
    /// Reads a new technician PIN (6 to 12 digits) from standard input and prints its hash for
    /// `[maintenance] pin_hash` in kiosk.toml.
    HashPin,
}

#[derive(Subcommand)]
enum OutboxCommand {
    /// How many applications and ratings wait, the oldest's age and the last error.
    Status {
        /// Configuration file.
        #[arg(long, default_value = DEFAULT_PATH)]
        config: PathBuf,
        /// Print JSON instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Deliver everything waiting now; exits non-zero if something is still waiting.
    Flush {
        /// Configuration file.
        #[arg(long, default_value = DEFAULT_PATH)]
        config: PathBuf,
    },
}

fn main() {
    kiosk_app::runtime::memory::limit_malloc_arenas();
    let cli = Cli::parse();
    let default_level = match cli.command {
        Command::Device { .. }
        | Command::Devices { .. }
        | Command::Selftest { .. }
        | Command::Provision { .. }
        | Command::Outbox { .. }
        | Command::Maintenance { .. }
        | Command::Update { .. }
        | Command::Drive(_) => "warn",
        Command::Run { .. } => "info",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_level.into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let result = match cli.command {
        Command::Run { config, last_good } => run(&config, &last_good),
        Command::Devices { config, json } => list_devices(&config, json),
        Command::Selftest {
            config,
            json,
            test_page,
        } => selftest(&config, json, test_page),
        Command::Device { device } => kiosk_app::technician::device_cli::run(device),
        Command::Outbox { command } => outbox(command),
        Command::Update { command } => kiosk_app::update::cli::run(command),
        Command::Maintenance {
            command: MaintenanceCommand::HashPin,
        } => hash_pin(),
        Command::Provision {
            payload,
            config,
            force,
        } => provision(&payload, &config, force),
        Command::Drive(args) => drive(args),
    };
    if let Err(e) = result {
        eprintln!("kiosk: {e:#}");
        std::process::exit(1);
    }
}

fn run(path: &std::path::Path, last_good: &std::path::Path) -> anyhow::Result<()> {
    let (config, refused) = KioskConfig::load_or_last_good(path, last_good)?;
    if let Some(refused) = refused {
        tracing::error!(error = %refused, "configuration refused; running with the last good one");
        eprintln!(
            "kiosk: {refused}; running with the last good configuration ({})",
            last_good.display()
        );
    }
    // Before any thread starts: this may become the installed release's binary instead.
    let running = kiosk_app::update::launch::hand_over(
        &kiosk_app::update::UpdateSettings::from_config(&config),
    );
    tracing::info!(version = %running.version, slot = ?running.slot.map(|s| s.name()), trial = running.trial, "kiosk starting");
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let identity = match TerminalIdentity::load(&config.data_dir) {
        Ok(identity) => Some(identity),
        Err(IdentityError::NotProvisioned { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let window = KioskWindow::new().map_err(|e| anyhow!("cannot open the kiosk window: {e}"))?;
    let (width, height) = if config.display.landscape {
        (1920, 1080)
    } else {
        (1080, 1920)
    };
    window
        .window()
        .set_size(slint::PhysicalSize::new(width, height));
    match identity {
        Some(identity) => start_service(&config, &window, tokio.handle(), identity, running)?,
        None => setup(config, &window, tokio.handle().clone(), running),
    }
    window
        .run()
        .map_err(|e| anyhow!("the kiosk window failed: {e}"))
}

/// The citizen service in `window`, for the enrolled terminal `identity`.
fn start_service(
    config: &KioskConfig,
    window: &KioskWindow,
    tokio: &tokio::runtime::Handle,
    identity: kiosk_app::uplink::identity::TerminalIdentity,
    running: kiosk_app::update::launch::RunningRelease,
) -> anyhow::Result<()> {
    let terminal_id = identity.terminal_id.clone();
    let platform = PlatformLink::configured(config, identity)?;
    let display = Display::new(
        window.clone_strong(),
        &terminal_id,
        config.display.landscape,
    );
    kiosk_app::screen::pinyin::install(&display, &config.data_dir.join("rime"));
    display.install_handwriting();
    let mut seed = [0u8; 8];
    getrandom::fill(&mut seed)
        .map_err(|e| anyhow!("no OS random source for idempotency keys: {e}"))?;
    let updater = std::sync::Arc::new(kiosk_app::update::Updater::new(
        kiosk_app::update::UpdateSettings::from_config(config),
        running,
        platform.clone(),
    ));
    let runtime_config = RuntimeConfig {
        settings: config.settings(&terminal_id),
        keys: KeySource::seeded(u64::from_le_bytes(seed)),
        platform,
        devices: config.devices(),
        outbox: std::sync::Arc::new(Outbox::open_configured(config)?),
        pin_hash: config.maintenance.pin_hash.clone(),
        updater: Some(updater),
    };
    let _guard = tokio.enter();
    // The session lives on in the driver task and the window's touch handler.
    kiosk_app::window::show_in_window(display, runtime_config, None);
    Ok(())
}

/// The setup screen: the hardware serial and the enrollment QR code awaited from the scanner;
/// once enrolled, the citizen service starts in the same window.
fn setup(
    config: KioskConfig,
    window: &KioskWindow,
    tokio: tokio::runtime::Handle,
    running: kiosk_app::update::launch::RunningRelease,
) {
    use kiosk_app::enrollment::setup::{Setup, SetupState};
    use kiosk_ui::{Kiosk, Page, SetupState as UiState, Technician};

    let serial = kiosk_app::uplink::identity::terminal_serial(config.hardware_serial.as_deref());
    window.global::<Kiosk>().set_page(Page::Setup);
    window
        .global::<Technician>()
        .set_setup_serial(serial.as_str().into());
    kiosk_app::runtime::service_manager::announce_when_running();
    let weak = window.as_weak();
    let show = move |state: SetupState| {
        let (ui, detail) = match &state {
            SetupState::Waiting => (UiState::Waiting, String::new()),
            SetupState::NoScanner => (UiState::NoScanner, String::new()),
            SetupState::Enrolling => (UiState::Enrolling, String::new()),
            SetupState::Failed(why) => (UiState::Failed, why.clone()),
            SetupState::Enrolled(id) => (UiState::Enrolled, id.clone()),
        };
        let _ = weak.upgrade_in_event_loop(move |window| {
            let technician = window.global::<Technician>();
            technician.set_setup_state(ui);
            technician.set_setup_detail(detail.into());
        });
    };
    let Some(port) = config.devices().scanner else {
        tracing::warn!("not provisioned and no scanner configured: run `kiosk provision PAYLOAD`");
        show(SetupState::NoScanner);
        return;
    };
    let weak = window.as_weak();
    let started = std::thread::Builder::new()
        .name("setup".into())
        .spawn(move || {
            let setup = Setup {
                data_dir: config.data_dir.clone(),
                hardware_serial: serial,
                timeout: config.platform_timeout(),
            };
            match setup.enroll_from_scanner(&port, &tokio, &show) {
                Ok(_) => {
                    let _ = weak.upgrade_in_event_loop(move |window| {
                        let started = TerminalIdentity::load(&config.data_dir)
                            .map_err(anyhow::Error::from)
                            .and_then(|identity| {
                                start_service(&config, &window, &tokio, identity, running)
                            });
                        if let Err(e) = started {
                            tracing::error!(error = %e, "enrolled, but the service cannot start");
                        }
                    });
                }
                Err(e) => {
                    tracing::error!(error = %e, "setup cannot read the scanner");
                    show(SetupState::Failed(e.to_string()));
                }
            }
        });
    if let Err(e) = started {
        tracing::error!(error = %e, "cannot start setup");
    }
}

/// `kiosk drive`: the enrolled terminal of `args.config`, headless, driven from stdin.
fn drive(args: DriveArgs) -> anyhow::Result<()> {
    let config = KioskConfig::load(&args.config)?;
    if let Some(dir) = &args.screenshots {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let identity = TerminalIdentity::load(&config.data_dir)
        .context("kiosk drive runs an enrolled terminal (kiosk provision first)")?;
    let terminal_id = identity.terminal_id.clone();
    let mut seed = [0u8; 8];
    getrandom::fill(&mut seed)
        .map_err(|e| anyhow!("no OS random source for idempotency keys: {e}"))?;
    let runtime_config = RuntimeConfig {
        settings: config.settings(&terminal_id),
        keys: KeySource::seeded(u64::from_le_bytes(seed)),
        platform: PlatformLink::configured(&config, identity)?,
        devices: config.devices(),
        outbox: std::sync::Arc::new(Outbox::open_configured(&config)?),
        pin_hash: config.maintenance.pin_hash.clone(),
        // A driven terminal never installs a release under the script's feet.
        updater: None,
    };
    let options = kiosk_app::drive::DriveOptions {
        reveal: args.reveal,
        screenshots: args.screenshots,
        card_control: args.card_control,
        scanner_control: args.scanner_control,
        size: kiosk_app::drive::DriveOptions::screen(config.display.landscape),
        pinyin_dir: Some(config.data_dir.join("rime")),
    };
    let _guard = tokio.enter();
    let summary = kiosk_app::drive::run(
        runtime_config,
        options,
        std::io::BufReader::new(std::io::stdin()),
        &mut std::io::stdout().lock(),
    )?;
    if summary.refused > 0 {
        eprintln!(
            "kiosk drive: {} of {} steps refused or failed",
            summary.refused, summary.steps
        );
        std::process::exit(3);
    }
    Ok(())
}

fn provision(payload: &str, path: &std::path::Path, force: bool) -> anyhow::Result<()> {
    let config = KioskConfig::load(path)?;
    let payload = if payload == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin().take(4096), &mut text)
            .context("cannot read the payload from standard input")?;
        text
    } else {
        payload.to_owned()
    };
    let provisioned = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(kiosk_app::enrollment::provision(
            &payload,
            &config.data_dir,
            kiosk_app::uplink::identity::terminal_serial(config.hardware_serial.as_deref()),
            config.platform_timeout(),
            force,
        ))?;
    println!(
        "enrolled as {} with {} (catalog {})",
        provisioned.identity.terminal_id,
        provisioned.link.base(),
        provisioned.catalog_version
    );
    selftest(path, false, false)
}

fn hash_pin() -> anyhow::Result<()> {
    let mut pin = zeroize::Zeroizing::new(String::new());
    std::io::stdin()
        .take(64)
        .read_to_string(&mut pin)
        .context("cannot read the PIN from standard input")?;
    println!("{}", kiosk_app::technician::pin::hash_pin(pin.trim())?);
    Ok(())
}

fn outbox(command: OutboxCommand) -> anyhow::Result<()> {
    match command {
        OutboxCommand::Status { config, json } => {
            let config = KioskConfig::load(&config)?;
            let status = Outbox::open_configured(&config)?.status()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print_outbox_status(&status);
            }
            Ok(())
        }
        OutboxCommand::Flush { config } => {
            let config = KioskConfig::load(&config)?;
            let outbox = Outbox::open_configured(&config)?;
            let link =
                PlatformLink::configured(&config, TerminalIdentity::load(&config.data_dir)?)?;
            outbox.retry_now()?;
            let round = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?
                .block_on(kiosk_app::uplink::outbox::deliver_due(
                    &outbox,
                    &link,
                    |_, _| {},
                ))?;
            println!("delivered {}, refused {}", round.delivered, round.refused);
            let status = outbox.status()?;
            print_outbox_status(&status);
            match round.stopped_by {
                Some(error) => Err(anyhow!("{} items still waiting: {error}", status.depth)),
                None => Ok(()),
            }
        }
    }
}

fn print_outbox_status(status: &kiosk_app::uplink::outbox::OutboxStatus) {
    println!(
        "waiting: {} ({} applications, {} ratings) of {}",
        status.depth - status.refused,
        status.applications,
        status.ratings,
        status.capacity
    );
    println!("refused by the platform (kept aside): {}", status.refused);
    if let Some(age) = status.oldest_secs {
        println!("oldest: {age} s");
    }
    if let Some(error) = &status.last_error {
        println!("last error: {error}");
    }
}

fn list_devices(path: &std::path::Path, json: bool) -> anyhow::Result<()> {
    let config = KioskConfig::load(path)?;
    let devices = kiosk_app::technician::selftest::devices(&config);
    if json {
        println!("{}", serde_json::to_string_pretty(&devices)?);
    } else {
        for d in &devices {
            println!(
                "{:<12} {:<9} {:<28} {}",
                d.kind.name(),
                d.state.word(),
                d.address,
                d.reason
            );
        }
    }
    Ok(())
}

fn selftest(path: &std::path::Path, json: bool, test_page: bool) -> anyhow::Result<()> {
    let config = KioskConfig::load(path)?;
    let checks = kiosk_app::technician::selftest::selftest(&config, test_page);
    if json {
        println!("{}", serde_json::to_string_pretty(&checks)?);
    } else {
        for c in &checks {
            println!(
                "{} {:<18} {}",
                if c.ok { "PASS" } else { "FAIL" },
                c.name,
                c.detail
            );
        }
    }
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.name.as_str())
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(anyhow!("self-test failed: {}", failed.join(", ")))
    }
}
