//! Pinyin composition through librime.
//!
//! librime is process-global: it is set up, initialised and deployed once per process, and
//! composition sessions are created on that one engine. [`PinyinEngine::start`] is therefore
//! the single owner (a second call with the same directories returns the same engine, with
//! others it is refused), and each citizen's field gets a [`Composer`], a rime session that is
//! destroyed when the composer is dropped, so nothing one citizen composed outlives them.
//!
//! **Deployment** compiles the schema and its patches into `user_data_dir/build`. It happens in
//! `start`, into a directory the caller owns (on the terminal, the kiosk's state directory):
//! the first start after installing or upgrading the rime data takes about a second, every
//! later start finds the build up to date (rime compares the sources' timestamps) and skips it.
//! The dictionary itself comes precompiled with Debian's package (`/usr/share/rime-data/build`).
//!
//! **Privacy:** rime learns by default, writing each committed phrase to a user dictionary on
//! disk. The patch written here turns the translator's user dictionary off, so what a citizen
//! typed is never stored (`tests/privacy.rs` proves it on the real library).

use std::ffi::{CString, c_char, c_int};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

use crate::ImeError;
use crate::rime_sys::{self, RimeApi, RimeCommit, RimeContext, RimeSessionId, RimeTraits};
use crate::text::from_c;

/// Where Debian's rime-data packages install schemas and their precompiled dictionaries.
pub const DEBIAN_SHARED_DATA: &str = "/usr/share/rime-data";

/// The schema: simplified characters straight from pinyin (Debian's rime-data-pinyin-simp).
pub const SCHEMA: &str = "pinyin_simp";

/// Candidates per page: eight large buttons fit a portrait candidate bar in elder mode.
pub const PAGE_SIZE: usize = 8;

/// Longest pinyin composed at once (letters and apostrophes): a long phrase of about ten
/// syllables. More is refused rather than slowing every keystroke's lookup.
pub const MAX_INPUT: usize = 48;

/// The patch on rime-prelude's `default.yaml`: the one schema, and the page size.
const DEFAULT_PATCH_YAML: &str = "\
# Written by the kiosk at each start; edits are overwritten.
patch:
  schema_list:
    - schema: pinyin_simp
  menu/page_size: 8
";

/// The schema patch. No learning, so nothing typed reaches the disk; no reverse lookup by
/// strokes (typed after a backtick, which the composer refuses), so the stroke dictionary is
/// neither compiled nor loaded.
const SCHEMA_PATCH_YAML: &str = "\
# Written by the kiosk at each start; edits are overwritten.
patch:
  translator/enable_user_dict: false
  menu/page_size: 8
  schema/dependencies: []
  engine/translators:
    - punct_translator
    - script_translator
";

/// librime's function table, which is static and immutable for the life of the process.
struct Api(&'static RimeApi);

/// The pinyin engine: librime set up and deployed for this process.
pub struct PinyinEngine {
    api: Api,
    shared: PathBuf,
    user: PathBuf,
    /// librime's service is not documented as thread-safe: every call goes through this lock.
    calls: Mutex<()>,
}

static ENGINE: OnceLock<PinyinEngine> = OnceLock::new();
/// Held while starting; true once `setup` ran, which librime (glog) allows once per process.
static STARTING: Mutex<bool> = Mutex::new(false);

impl PinyinEngine {
    /// Starts librime on `shared_data_dir` (the schemas, normally [`DEBIAN_SHARED_DATA`]) and
    /// `user_data_dir` (writable; the configuration and compiled schema go there), deploying
    /// when the build is missing or stale, then checks that pinyin yields candidates.
    ///
    /// Once per process: later calls with the same directories return the same engine.
    pub fn start(
        shared_data_dir: &Path,
        user_data_dir: &Path,
    ) -> Result<&'static PinyinEngine, ImeError> {
        let mut set_up = STARTING.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(engine) = ENGINE.get() {
            return if engine.shared == shared_data_dir && engine.user == user_data_dir {
                Ok(engine)
            } else {
                Err(ImeError::EngineInUse(
                    engine.shared.clone(),
                    engine.user.clone(),
                ))
            };
        }
        write_configuration(user_data_dir)?;
        // SAFETY: rime_get_api returns a pointer to a static table (or null).
        let api = unsafe { rime_sys::rime_get_api().as_ref() }.ok_or(ImeError::RimeTooOld(0))?;
        if api.data_size < rime_sys::required_data_size() {
            return Err(ImeError::RimeTooOld(api.data_size));
        }
        let shared = c_path(shared_data_dir)?;
        let user = c_path(user_data_dir)?;
        let mut traits = RimeTraits {
            data_size: rime_sys::data_size::<RimeTraits>(),
            shared_data_dir: shared.as_ptr(),
            user_data_dir: user.as_ptr(),
            distribution_name: c"连易办".as_ptr(),
            distribution_code_name: c"kiosk".as_ptr(),
            distribution_version: c"1".as_ptr(),
            // glog keeps this pointer for the life of the process: a static string.
            app_name: c"rime.kiosk".as_ptr(),
            modules: std::ptr::null(),
            // Errors only are logged (glog's FATAL): rime's informational log would name
            // the schema work, never anything a citizen needs, and goes nowhere.
            min_log_level: 3,
            log_dir: user.as_ptr(),
            prebuilt_data_dir: std::ptr::null(),
            staging_dir: std::ptr::null(),
        };
        // SAFETY: the traits and the strings they point to live across the calls; librime
        // copies the directories into its own deployer.
        unsafe {
            if !*set_up {
                (api.setup)(&mut traits);
                *set_up = true;
            }
            (api.initialize)(&mut traits);
            if (api.start_maintenance)(0) != 0 {
                (api.join_maintenance_thread)();
            }
        }
        let engine = PinyinEngine {
            api: Api(api),
            shared: shared_data_dir.to_path_buf(),
            user: user_data_dir.to_path_buf(),
            calls: Mutex::new(()),
        };
        if let Err(e) = engine.check_deployed() {
            // SAFETY: no session is left open; a later start initialises again.
            unsafe { (api.finalize)() };
            return Err(e);
        }
        Ok(ENGINE.get_or_init(|| engine))
    }

    /// A new composition for one field of one citizen.
    pub fn composer(&self) -> Result<Composer<'_>, ImeError> {
        let _calls = self.lock();
        // SAFETY: librime is initialised (start succeeded).
        let id = unsafe { (self.api.0.create_session)() };
        if id == 0 {
            return Err(ImeError::NoSession);
        }
        Ok(Composer { engine: self, id })
    }

    /// The schema is in use and answers a syllable with candidates; otherwise the
    /// deployment failed (missing rime-data, unwritable directory) and the start fails
    /// now, not at a citizen's first keystroke.
    fn check_deployed(&self) -> Result<(), ImeError> {
        let not_deployed = || ImeError::NotDeployed {
            schema: SCHEMA,
            shared: self.shared.clone(),
            user: self.user.clone(),
        };
        let mut probe = self.composer().map_err(|_| not_deployed())?;
        let in_use = probe.current_schema();
        let answers = probe.type_key('n').is_ok()
            && probe.type_key('i').is_ok()
            && !probe.candidates().is_empty();
        probe.clear();
        if in_use.as_deref() == Some(SCHEMA) && answers {
            Ok(())
        } else {
            Err(not_deployed())
        }
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner())
    }
}

// SAFETY: the table is immutable static data of librime; its function pointers are called
// under the engine's lock.
unsafe impl Send for Api {}
unsafe impl Sync for Api {}

fn c_path(path: &Path) -> Result<CString, ImeError> {
    path.to_str()
        .and_then(|s| CString::new(s).ok())
        .ok_or_else(|| ImeError::Path(path.to_path_buf()))
}

/// Writes the configuration and the schema patch, leaving files that already say the same
/// untouched (rime redeploys when a source is newer than its build), and removes any user
/// dictionary found (`*.userdb`, `*.userdb.txt`: learnt by a rime configured otherwise, or
/// copied in), so no earlier typing survives on the terminal.
fn write_configuration(user: &Path) -> Result<(), ImeError> {
    let error = |source| ImeError::UserDir {
        path: user.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(user).map_err(error)?;
    for entry in std::fs::read_dir(user).map_err(error)? {
        let path = entry.map_err(error)?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.ends_with(".userdb") || name.ends_with(".userdb.txt") {
            let removed = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            removed.map_err(error)?;
        }
    }
    for (name, content) in [
        // A configuration of the user directory's own would shadow the patched default.
        ("default.yaml", None),
        ("default.custom.yaml", Some(DEFAULT_PATCH_YAML)),
        ("pinyin_simp.custom.yaml", Some(SCHEMA_PATCH_YAML)),
    ] {
        let path = user.join(name);
        match content {
            None => match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(error(e)),
                _ => {}
            },
            Some(content) => {
                if std::fs::read_to_string(&path).ok().as_deref() != Some(content) {
                    std::fs::write(&path, content).map_err(error)?;
                }
            }
        }
    }
    Ok(())
}

/// Why a key was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyRefused {
    /// Only the letters a–z and the syllable separator `'` compose pinyin.
    #[error("not a pinyin letter")]
    NotPinyin,
    /// A separator needs a syllable before it.
    #[error("a separator without a syllable before it")]
    StraySeparator,
    /// The composition holds [`MAX_INPUT`] keys already.
    #[error("the pinyin is too long")]
    TooLong,
}

/// One page of candidates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Menu {
    /// Chinese text of each candidate, best first, at most [`PAGE_SIZE`].
    pub candidates: Vec<String>,
    /// Page number from 0.
    pub page: usize,
    /// No page follows this one.
    pub last_page: bool,
}

/// One composition session: the pinyin a citizen is typing into one field. Dropping it
/// destroys the rime session and what it held.
pub struct Composer<'e> {
    engine: &'e PinyinEngine,
    id: RimeSessionId,
}

impl std::fmt::Debug for Composer<'_> {
    /// The composition is what a citizen is typing: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Composer").finish_non_exhaustive()
    }
}

impl Composer<'_> {
    fn api(&self) -> &'static RimeApi {
        self.engine.api.0
    }

    /// Adds a key to the pinyin being composed: `a`–`z` and `'` (between syllables, as in
    /// `xi'an`). Anything else is refused and changes nothing.
    pub fn type_key(&mut self, key: char) -> Result<(), KeyRefused> {
        let input = self.input();
        match key {
            'a'..='z' => {}
            '\'' if input.is_empty() || input.ends_with('\'') => {
                return Err(KeyRefused::StraySeparator);
            }
            '\'' => {}
            _ => return Err(KeyRefused::NotPinyin),
        }
        if input.len() >= MAX_INPUT {
            return Err(KeyRefused::TooLong);
        }
        self.key(key as c_int);
        Ok(())
    }

    /// Removes the last key, or, right after a partial choice, undoes that choice (as rime
    /// does); false when nothing is being composed.
    pub fn erase(&mut self) -> bool {
        if self.input().is_empty() {
            return false;
        }
        self.key(rime_sys::XK_BACKSPACE);
        true
    }

    /// The keys typed since the last commit (`lianyungang`, also after 连 was chosen of it).
    pub fn input(&self) -> String {
        let _calls = self.engine.lock();
        // SAFETY: the session is live; the pointer is read before any other call.
        unsafe { from_c((self.api().get_input)(self.id)) }
    }

    /// The composition as shown above the candidates: the pinyin split into syllables, after
    /// a partial choice with the chosen characters in front (`连yun gang`).
    pub fn preedit(&self) -> String {
        self.with_context(|ctx| {
            // SAFETY: the context was filled by librime and is freed after this closure.
            unsafe { from_c(ctx.composition.preedit) }
        })
        .unwrap_or_default()
    }

    /// The candidates of the current page (empty when nothing is composed).
    pub fn candidates(&self) -> Vec<String> {
        self.menu().candidates
    }

    /// The current page of candidates with its position.
    pub fn menu(&self) -> Menu {
        self.with_context(|ctx| {
            let menu = &ctx.menu;
            let count = usize::try_from(menu.num_candidates).unwrap_or(0);
            let candidates = if menu.candidates.is_null() {
                Vec::new()
            } else {
                // SAFETY: librime allocated `num_candidates` entries.
                unsafe { std::slice::from_raw_parts(menu.candidates, count) }
                    .iter()
                    .map(|c| unsafe { from_c(c.text) })
                    .collect()
            };
            Menu {
                candidates,
                page: usize::try_from(menu.page_no).unwrap_or(0),
                last_page: menu.is_last_page != 0,
            }
        })
        .unwrap_or(Menu {
            last_page: true,
            ..Menu::default()
        })
    }

    /// Shows the next page of candidates; false when this was the last one.
    pub fn next_page(&mut self) -> bool {
        self.turn_page(rime_sys::XK_PAGE_DOWN)
    }

    /// Shows the previous page of candidates; false on the first.
    pub fn previous_page(&mut self) -> bool {
        self.turn_page(rime_sys::XK_PAGE_UP)
    }

    fn turn_page(&mut self, key: c_int) -> bool {
        let before = self.menu();
        if before.candidates.is_empty() {
            return false;
        }
        self.key(key);
        self.menu().page != before.page
    }

    /// Chooses candidate `index` of the current page. When it covers the whole composition
    /// the text is committed and returned; when it covers only the first syllables (连 of
    /// `lianyungang`), it is held and the rest keeps composing, and `None` is returned until
    /// the last choice commits the whole phrase. `None` also for an index off the page.
    pub fn choose(&mut self, index: usize) -> Option<String> {
        if index >= self.candidates().len() {
            return None;
        }
        let _calls = self.engine.lock();
        // SAFETY: the session is live and the index is on the current page.
        unsafe { (self.api().select_candidate_on_current_page)(self.id, index) };
        self.take_commit()
    }

    /// Drops the composition without committing anything.
    pub fn clear(&mut self) {
        let _calls = self.engine.lock();
        // SAFETY: the session is live.
        unsafe { (self.api().clear_composition)(self.id) };
    }

    /// Something is being composed.
    pub fn is_composing(&self) -> bool {
        !self.input().is_empty()
    }

    fn key(&mut self, keycode: c_int) {
        let _calls = self.engine.lock();
        // SAFETY: the session is live; keycodes are ASCII letters or X11 key symbols.
        unsafe { (self.api().process_key)(self.id, keycode, 0) };
        // A key never commits in this schema (letters compose; paging and backspace edit),
        // but should one ever do, its text is dropped rather than left for a later field.
        self.take_commit();
    }

    /// The text librime committed, if any. Called with the lock held.
    fn take_commit(&self) -> Option<String> {
        let mut commit = RimeCommit {
            data_size: rime_sys::data_size::<RimeCommit>(),
            text: std::ptr::null_mut(),
        };
        // SAFETY: the commit struct is initialised as librime requires and freed after use.
        unsafe {
            if (self.api().get_commit)(self.id, &mut commit) == 0 {
                return None;
            }
            let text = from_c(commit.text);
            (self.api().free_commit)(&mut commit);
            Some(text).filter(|t| !t.is_empty())
        }
    }

    fn with_context<T>(&self, read: impl FnOnce(&RimeContext) -> T) -> Option<T> {
        let _calls = self.engine.lock();
        // SAFETY: all-zero is a valid empty context (null pointers, zero counts).
        let mut ctx: RimeContext = unsafe { std::mem::zeroed() };
        ctx.data_size = rime_sys::data_size::<RimeContext>();
        // SAFETY: the context is initialised as librime requires and freed after reading.
        unsafe {
            if (self.api().get_context)(self.id, &mut ctx) == 0 {
                return None;
            }
            let value = read(&ctx);
            (self.api().free_context)(&mut ctx);
            Some(value)
        }
    }

    fn current_schema(&self) -> Option<String> {
        let _calls = self.engine.lock();
        let mut buffer = [0 as c_char; 64];
        // SAFETY: librime writes at most `buffer.len()` bytes, NUL-terminated.
        unsafe {
            if (self.api().get_current_schema)(self.id, buffer.as_mut_ptr(), buffer.len()) == 0 {
                return None;
            }
            Some(from_c(buffer.as_ptr()))
        }
    }
}

impl Drop for Composer<'_> {
    fn drop(&mut self) {
        let _calls = self.engine.lock();
        // SAFETY: the session was created by this composer and is destroyed once.
        unsafe { (self.api().destroy_session)(self.id) };
    }
}
