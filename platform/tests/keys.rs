//! The platform's key file: `serve` refuses to start without it or when others may read it,
//! `keys init` never overwrites one, a database made before key files keeps everything it
//! accepted across the upgrade (`keys init --from-database`), another database's key file is
//! refused, and unsealed application bodies get 415.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{TestDb, TestTerminal, serve};
use kiosk_platform::keys::KeyFile;
use kiosk_platform::{DbUrl, Store, StoreError};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

on_both_backends!(an_unsealed_application_body_is_refused_with_415);

const NAME: &str = "欧阳娜娜";
const ID_NUMBER: &str = "32070619851231002X";

#[test]
fn serve_refuses_a_missing_or_exposed_key_file_and_init_never_overwrites() {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("p.db").display());
    let keys = dir.path().join("platform.keys");
    let keys_arg = keys.to_string_lossy().into_owned();
    let serve = || {
        common::platform_cli_with(
            &db,
            &["serve", "--listen", "127.0.0.1:0"],
            &["--keys", &keys_arg],
        )
    };
    let (ok, _, err) = serve();
    assert!(
        !ok && err.contains("no key file") && err.contains("keys init"),
        "{err}"
    );

    let (ok, out, err) = common::platform_cli_with(&db, &["keys", "init"], &[]);
    assert!(!ok, "init needs --file: {out}{err}");
    let init = kiosk_testkit::run(
        "kiosk-platform",
        &["keys", "init", "--file", &keys_arg],
        &[],
    )
    .expect("runs");
    assert!(init.status.success());
    let mode = std::fs::metadata(&keys).expect("meta").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let before = std::fs::read(&keys).expect("read");
    let again = kiosk_testkit::run(
        "kiosk-platform",
        &["keys", "init", "--file", &keys_arg],
        &[],
    )
    .expect("runs");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
    assert_eq!(
        std::fs::read(&keys).expect("read"),
        before,
        "never overwritten"
    );

    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let (ok, _, err) = serve();
    assert!(!ok && err.contains("chmod 600"), "{err}");
}

/// Writes, with SQLite itself, what a platform made before key files left in its database:
/// its secrets in `settings`, an application and a material chunk in clear.
fn plant_legacy_rows(path: &std::path::Path, pepper: &str) {
    let conn = rusqlite::Connection::open(path).expect("db");
    let body = serde_json::json!({
        "terminal_id": "T1", "matter_id": "lyg-health-0701", "language": "zh",
        "applicant": {"name": NAME, "id_number": ID_NUMBER, "document_kind": "resident"}
    })
    .to_string();
    conn.execute_batch(&format!(
        "INSERT INTO settings (name, value) VALUES ('applicant_pepper', '{pepper}');
         INSERT INTO settings (name, value) VALUES ('certificate_key', '{cert}');
         INSERT INTO uploads (id, terminal_id, application_no, material_index, content_type, size, sha256, chunk_size, created_at)
           VALUES ('U1', 'T1', 'LY20260101000001', 0, 'application/pdf', 8, 'x', 8, 'now');
         INSERT INTO upload_chunks (upload_id, n, data) VALUES ('U1', 0, X'255044462D{name_hex}');",
        cert = "cd".repeat(32),
        name_hex = NAME
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<String>(),
    ))
    .expect("legacy settings");
    conn.execute(
        "INSERT INTO applications (application_no, idempotency_key, terminal_id, matter_id, body, accepted_at, applicant_key)
         VALUES ('LY20260101000001', 'legacy-0001', 'T1', 'lyg-health-0701', ?1, '2026-01-01T09:00:00+08:00', ?2)",
        rusqlite::params![body, kiosk_platform::keys::legacy_applicant_index(pepper, ID_NUMBER)],
    )
    .expect("legacy application");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_made_before_key_files_keeps_everything_across_the_upgrade() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("old.db");
    let url = DbUrl::Sqlite(path.clone());
    drop(Store::open(&url).await.expect("schema"));
    let pepper = "ab".repeat(32);
    plant_legacy_rows(&path, &pepper);
    // What a terminal's outbox holds, sealed to the key the old platform derived.
    let old_sealing = kiosk_protocol::sealing::SealingKey::from_secret(
        Sha256::new()
            .chain_update(b"LYB-SEALING-V1\n")
            .chain_update(pepper.as_bytes())
            .finalize()
            .into(),
    );
    let outbox_item = kiosk_protocol::sealing::seal(
        &kiosk_protocol::sealing::parse_sealing_key(&old_sealing.public_hex()).expect("key"),
        b"sealed before the upgrade",
    )
    .expect("sealed");

    // A new key file that does not carry the old secrets is refused, and changes nothing.
    let fresh = dir.path().join("fresh.keys");
    KeyFile::create(&fresh, None).expect("fresh");
    let store = Store::open(&url).await.expect("open");
    let refused = store
        .use_keys(KeyFile::load(&fresh).expect("load").into_keys())
        .await
        .expect_err("refused");
    assert!(matches!(refused, StoreError::KeysNotImported), "{refused}");
    assert!(refused.to_string().contains("keys init --from-database"));
    drop(store);

    let keys = dir.path().join("platform.keys");
    let db_arg = format!("sqlite://{}", path.display());
    let (ok, out, err) = common::platform_cli_with(
        &db_arg,
        &[
            "keys",
            "init",
            "--from-database",
            "--file",
            &keys.to_string_lossy(),
        ],
        &[],
    );
    assert!(ok, "{out}{err}");

    let store = Store::open(&url).await.expect("open");
    let ring = KeyFile::load(&keys).expect("load").into_keys();
    store
        .use_keys(ring.clone())
        .await
        .expect("the carried keys fit");
    assert!(
        store.legacy_secrets().await.expect("read").is_none(),
        "secrets left the database"
    );
    let found = store
        .applications_of(ID_NUMBER, NAME)
        .await
        .expect("progress");
    assert_eq!(found.len(), 1, "the applicant's record is found as before");
    assert_eq!(
        ring.open_sealed(&outbox_item).expect("opens").as_slice(),
        b"sealed before the upgrade"
    );
    assert_eq!(ring.certificate_secret().as_str(), "cd".repeat(32));
    let chunks = store.chunks("U1").await.expect("chunks");
    assert!(chunks[0].1.starts_with(b"%PDF-"), "the material opens");
    drop(store);

    // Nothing of the clear rows is left in the file; a second start changes nothing more.
    let bytes = std::fs::read(&path).expect("db file");
    assert!(!bytes.windows(NAME.len()).any(|w| w == NAME.as_bytes()));
    assert!(
        !bytes
            .windows(ID_NUMBER.len())
            .any(|w| w == ID_NUMBER.as_bytes())
    );
    let store = Store::open(&url).await.expect("open");
    store.use_keys(ring).await.expect("again");
    assert_eq!(
        store
            .applications_of(ID_NUMBER, NAME)
            .await
            .expect("progress")
            .len(),
        1
    );

    // Another database's key file is refused.
    let other = dir.path().join("other.keys");
    KeyFile::create(&other, None).expect("other");
    let store = Store::open(&url).await.expect("open");
    let refused = store
        .use_keys(KeyFile::load(&other).expect("load").into_keys())
        .await
        .expect_err("refused");
    assert!(matches!(refused, StoreError::WrongKeys), "{refused}");
}

async fn an_unsealed_application_body_is_refused_with_415(db: TestDb) {
    let p = serve(db.store().await).await;
    let t = TestTerminal::enroll(&p, "SN-PLAIN-1", None).await;
    let body = serde_json::to_vec(&serde_json::json!({
        "terminal_id": t.id, "matter_id": "lyg-health-0701", "language": "zh",
        "applicant": {"name": NAME, "id_number": ID_NUMBER, "document_kind": "resident"}
    }))
    .expect("json");
    // Signed correctly, as a terminal that skipped sealing would.
    let content = kiosk_protocol::SignedContent {
        method: "POST",
        path_and_query: "/v1/applications",
        content_type: Some("application/json"),
        idempotency_key: Some("plain-key-0001"),
        body: &body,
    };
    let signed = kiosk_protocol::auth::sign_request_v2(
        &t.key,
        &t.id,
        common::now(),
        &common::nonce(),
        &content,
    );
    let mut request = t
        .http
        .post(format!("{}/v1/applications", p.url))
        .header("Idempotency-Key", "plain-key-0001")
        .header("Content-Type", "application/json")
        .body(body);
    for (name, value) in signed.pairs() {
        request = request.header(name, value);
    }
    let (status, answer) = common::answer(request.send().await.expect("answer")).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{answer}");
    assert_eq!(answer["code"], "unsealed_body");
    assert_eq!(p.store.application_count().await.expect("count"), 0);
}
