//! Bad input to the binaries: a clear one-line error naming what is wrong, a non-zero exit,
//! nothing half-written.

use kiosk_testkit::run;

/// Runs a program that must fail; returns its single error line.
fn one_line_failure(program: &str, args: &[&str]) -> String {
    let output = run(program, args, &[("RUST_LOG", "off")]).expect("runs");
    assert!(!output.status.success(), "{program} {args:?} succeeded");
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    assert_eq!(stderr.lines().count(), 1, "not one line:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn an_unreachable_platform_is_named() {
    let err = one_line_failure(
        "kiosk-demo",
        &[
            "--headless",
            "/tmp/unused-shots",
            "--platform",
            "http://127.0.0.1:9",
            "--enrollment",
            r#"{"platform":"http://127.0.0.1:9","token":"0123456789abcdef0123","expires_at":"2026-01-01T00:00:00+08:00"}"#,
        ],
    );
    assert!(
        err.contains("http://127.0.0.1:9") && err.contains("cannot be reached"),
        "{err}"
    );
}

#[test]
fn a_bad_idempotency_key_is_refused_before_anything_starts() {
    let err = one_line_failure(
        "kiosk-demo",
        &[
            "--headless",
            "/tmp/unused-shots",
            "--idempotency-key",
            "a b",
        ],
    );
    assert!(err.contains("--idempotency-key"), "{err}");
}

#[test]
fn config_errors_name_the_file_and_the_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let last_good = dir.path().join("last-good.toml");
    let last_good = last_good.to_string_lossy().into_owned();
    let missing = dir.path().join("missing.toml");
    let err = one_line_failure(
        "kiosk",
        &[
            "run",
            "--config",
            &missing.to_string_lossy(),
            "--last-good",
            &last_good,
        ],
    );
    assert!(
        err.contains("cannot read") && err.contains("missing.toml"),
        "{err}"
    );

    let typo = dir.path().join("kiosk.toml");
    std::fs::write(
        &typo,
        "[platform]\nurl = \"http://127.0.0.1:8080\"\nurll = \"x\"\n",
    )
    .expect("write");
    let typo_arg = typo.to_string_lossy().into_owned();
    let run = ["run", "--config", &typo_arg, "--last-good", &last_good];
    let err = one_line_failure("kiosk", &run);
    assert!(
        err.contains("kiosk.toml") && err.contains("urll") && err.contains("line 3"),
        "{err}"
    );

    std::fs::write(&typo, "[platform]\nurl = \"ftp://x\"\n").expect("write");
    let err = one_line_failure("kiosk", &run);
    assert!(err.contains("platform.url"), "{err}");

    // A terminal that once ran with a good file keeps running with it when a bad one arrives,
    // and says precisely what was refused. (Its identity file is damaged, so the run stops
    // right after the configuration, before any window opens.)
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    std::fs::write(data.join("identity.json"), "{ damaged").expect("identity");
    std::fs::write(&typo, format!("data_dir = \"{}\"\n", data.display())).expect("write");
    let err = one_line_failure("kiosk", &run);
    assert!(
        err.contains("identity") && err.contains("unusable"),
        "{err}"
    );
    std::fs::write(&typo, "data_dir = \"relative\"\n").expect("write");
    let output = kiosk_testkit::run("kiosk", &run, &[("RUST_LOG", "off")]).expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`data_dir` must be an absolute path")
            && stderr.contains("running with the last good configuration"),
        "{stderr}"
    );
    assert!(stderr.contains("unusable"), "{stderr}");
}

#[test]
fn bad_enrollment_payloads_are_named_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let config = dir.path().join("kiosk.toml");
    std::fs::write(&config, format!("data_dir = \"{}\"\n", data.display())).expect("write");
    let config = config.to_string_lossy().into_owned();
    for (payload, expected) in [
        ("not json", "enrollment payload is not valid"),
        (
            r#"{"platform":"javascript:alert(1)","token":"0123456789abcdef0123","expires_at":"x"}"#,
            "http:// or https://",
        ),
        (
            r#"{"platform":"http://127.0.0.1:9","token":"0123456789abcdef0123","expires_at":"x"}"#,
            "cannot be reached",
        ),
    ] {
        let err = one_line_failure("kiosk", &["provision", payload, "--config", &config]);
        assert!(err.contains(expected), "{payload}: {err}");
    }
    // Nothing was half-written: still no identity.
    assert!(!data.join("identity.json").exists());
}

#[test]
fn a_corrupt_platform_database_is_reported_and_left_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("platform.db");
    let junk = b"SQLite format 2\0 but not really".repeat(40);
    std::fs::write(&db, &junk).expect("write");
    let url = format!("sqlite://{}", db.display());
    let keys = kiosk_testkit::PlatformPeer::key_file(&db).expect("key file");
    let keys = keys.display().to_string();
    let err = one_line_failure(
        "kiosk-platform",
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--db",
            &url,
            "--keys",
            &keys,
        ],
    );
    assert!(
        err.contains("platform.db") && err.contains("not a usable platform database"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&db).expect("read"),
        junk,
        "the damaged file must not be touched"
    );
}

#[test]
fn platform_arguments_are_checked() {
    let output = run(
        "kiosk-platform",
        &["serve", "--db", "mysql://db/kiosk"],
        &[],
    )
    .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("use sqlite://PATH") && stderr.contains("postgres://"),
        "{stderr}"
    );

    // A PostgreSQL server that is not there: named, password hidden, one line.
    let err = one_line_failure(
        "kiosk-platform",
        &[
            "migrate",
            "--db",
            "postgres://kiosk:s3cret@127.0.0.1:9/kiosk",
        ],
    );
    assert!(
        err.contains("cannot connect to postgres://kiosk:***@127.0.0.1:9/kiosk")
            && !err.contains("s3cret"),
        "{err}"
    );

    let err = one_line_failure(
        "kiosk-platform",
        &["migrate", "--db", "sqlite:///no/such/folder/p.db"],
    );
    assert!(
        err.contains("/no/such/folder") && err.contains("does not exist"),
        "{err}"
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let catalog = dir.path().join("catalog.json");
    std::fs::write(
        &catalog,
        r#"{"version": "", "themes": [], "departments": [], "matters": []}"#,
    )
    .expect("write");
    let db = format!("sqlite://{}", dir.path().join("p.db").display());
    let err = one_line_failure(
        "kiosk-platform",
        &["catalog", "import", &catalog.to_string_lossy(), "--db", &db],
    );
    assert!(
        err.contains("cannot be published") && err.contains("version is empty"),
        "{err}"
    );
}
