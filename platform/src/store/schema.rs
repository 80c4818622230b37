//! The schema, written once for both engines.
//!
//! Each migration is PostgreSQL's text; SQLite runs it through [`sqlite`], which rewrites the
//! only two type names SQLite spells differently (an auto-numbered key, a byte string). Every
//! other type and construct is common to both: SQLite reads `BIGINT` and `BOOLEAN` with the
//! integer affinity its own `INTEGER` has, and `TRUE`/`FALSE` as 1/0. So the two schemas cannot
//! drift apart, and `tests/schema.rs` checks the catalogs of two freshly migrated databases
//! agree.
//!
//! Databases created before the list was shared keep what they were created with (SQLite's
//! `INTEGER` where this says `BIGINT` or `BOOLEAN`): the same affinity, so the same values.

use std::borrow::Cow;

/// Schema migrations, applied in order; each engine records how many ran (SQLite in
/// `PRAGMA user_version`, PostgreSQL in `schema_migrations`).
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: catalog versions and applications.
    "CREATE TABLE catalog_versions (
        version      TEXT PRIMARY KEY,
        body         TEXT NOT NULL,
        published_at TEXT NOT NULL,
        current      BOOLEAN NOT NULL DEFAULT FALSE
    );
    CREATE UNIQUE INDEX catalog_one_current ON catalog_versions(current) WHERE current;
    CREATE TABLE applications (
        id               BIGSERIAL PRIMARY KEY,
        application_no   TEXT UNIQUE,
        idempotency_key  TEXT NOT NULL UNIQUE,
        terminal_id      TEXT NOT NULL,
        matter_id        TEXT NOT NULL,
        body             TEXT NOT NULL,
        accepted_at      TEXT NOT NULL
    );
    CREATE TABLE ratings (
        id              BIGSERIAL PRIMARY KEY,
        application_no  TEXT NOT NULL UNIQUE REFERENCES applications(application_no),
        matter_id       TEXT NOT NULL,
        terminal_id     TEXT NOT NULL,
        level           INTEGER NOT NULL CHECK (level BETWEEN 1 AND 5),
        reason          TEXT,
        rated_at        TEXT NOT NULL
    );",
    // 2: terminal identity (enrollment tokens, terminals and their keys, replay nonces),
    // layered configuration, application states and the applicant key progress queries use.
    "CREATE TABLE settings (
        name   TEXT PRIMARY KEY,
        value  TEXT NOT NULL
    );
    CREATE TABLE enrollment_tokens (
        token_hash   TEXT PRIMARY KEY,
        site         TEXT,
        created_at   TEXT NOT NULL,
        expires_at   BIGINT NOT NULL,
        used_at      TEXT,
        terminal_id  TEXT
    );
    CREATE TABLE terminals (
        id               TEXT PRIMARY KEY,
        hardware_serial  TEXT NOT NULL UNIQUE,
        public_key       TEXT NOT NULL,
        site             TEXT,
        enrolled_at      TEXT NOT NULL,
        last_seen        BIGINT,
        heartbeat        TEXT
    );
    CREATE INDEX terminals_site ON terminals(site);
    CREATE TABLE request_nonces (
        terminal_id  TEXT NOT NULL,
        nonce        TEXT NOT NULL,
        seen_at      BIGINT NOT NULL,
        PRIMARY KEY (terminal_id, nonce)
    );
    CREATE INDEX request_nonces_seen ON request_nonces(seen_at);
    CREATE TABLE config_layers (
        scope       TEXT NOT NULL CHECK (scope IN ('global', 'site', 'terminal')),
        scope_key   TEXT NOT NULL,
        body        TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        PRIMARY KEY (scope, scope_key)
    );
    ALTER TABLE applications ADD COLUMN state TEXT NOT NULL DEFAULT 'accepted';
    ALTER TABLE applications ADD COLUMN applicant_key TEXT;
    CREATE INDEX applications_terminal ON applications(terminal_id);
    CREATE INDEX applications_applicant ON applications(applicant_key);",
    // 3: the terminal API: events, queue tickets, appointments, remote commands, and the
    // health summary fleet filters use.
    "CREATE TABLE terminal_events (
        id           BIGSERIAL PRIMARY KEY,
        terminal_id  TEXT NOT NULL,
        at           BIGINT NOT NULL,
        kind         TEXT NOT NULL,
        detail       TEXT NOT NULL
    );
    CREATE INDEX terminal_events_terminal ON terminal_events(terminal_id, id);
    CREATE TABLE ticket_counters (
        site  TEXT NOT NULL,
        day   TEXT NOT NULL,
        last  BIGINT NOT NULL,
        PRIMARY KEY (site, day)
    );
    CREATE TABLE tickets (
        id           BIGSERIAL PRIMARY KEY,
        site         TEXT NOT NULL,
        day          TEXT NOT NULL,
        seq          BIGINT NOT NULL,
        ticket_no    TEXT NOT NULL,
        matter_id    TEXT NOT NULL,
        window_name  TEXT NOT NULL,
        terminal_id  TEXT NOT NULL,
        issued_at    TEXT NOT NULL,
        state        TEXT NOT NULL DEFAULT 'waiting',
        UNIQUE (site, day, seq)
    );
    CREATE TABLE appointments (
        id             BIGSERIAL PRIMARY KEY,
        code           TEXT NOT NULL UNIQUE,
        applicant_key  TEXT NOT NULL,
        matter_id      TEXT NOT NULL,
        site           TEXT NOT NULL,
        day            TEXT NOT NULL,
        slot           TEXT NOT NULL,
        checked_in_at  TEXT,
        ticket_no      TEXT
    );
    CREATE INDEX appointments_applicant ON appointments(applicant_key, day);
    CREATE TABLE commands (
        id            BIGSERIAL PRIMARY KEY,
        terminal_id   TEXT NOT NULL,
        kind          TEXT NOT NULL,
        state         TEXT NOT NULL DEFAULT 'queued',
        created_by    TEXT NOT NULL,
        created_at    TEXT NOT NULL,
        delivered_at  TEXT,
        finished_at   TEXT,
        result        TEXT
    );
    CREATE INDEX commands_terminal ON commands(terminal_id, state);
    ALTER TABLE terminals ADD COLUMN health TEXT;",
    // 4: materials uploaded in chunks for an application.
    "CREATE TABLE uploads (
        id              TEXT PRIMARY KEY,
        terminal_id     TEXT NOT NULL,
        application_no  TEXT NOT NULL,
        material_index  BIGINT NOT NULL,
        content_type    TEXT NOT NULL,
        size            BIGINT NOT NULL,
        sha256          TEXT NOT NULL,
        chunk_size      BIGINT NOT NULL,
        created_at      TEXT NOT NULL,
        completed_at    TEXT
    );
    CREATE INDEX uploads_application ON uploads(application_no);
    CREATE TABLE upload_chunks (
        upload_id  TEXT NOT NULL,
        n          BIGINT NOT NULL,
        data       BYTEA NOT NULL,
        PRIMARY KEY (upload_id, n)
    );",
    // 5: the ops console: operator accounts, their sessions, and the audit log.
    "CREATE TABLE operators (
        name           TEXT PRIMARY KEY,
        password_hash  TEXT NOT NULL,
        role           TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
        created_at     TEXT NOT NULL
    );
    CREATE TABLE console_sessions (
        token_hash  TEXT PRIMARY KEY,
        operator    TEXT NOT NULL REFERENCES operators(name) ON DELETE CASCADE,
        csrf        TEXT NOT NULL,
        expires_at  BIGINT NOT NULL
    );
    CREATE TABLE audit_log (
        id        BIGSERIAL PRIMARY KEY,
        at        TEXT NOT NULL,
        operator  TEXT NOT NULL,
        action    TEXT NOT NULL,
        detail    TEXT NOT NULL
    );",
    // 6: releases terminals may be updated to, terminal tags, staged rollouts with the group
    // and latest report of each of their terminals, and the claim that serialises starting
    // rollouts of one kind.
    "CREATE TABLE releases (
        version       TEXT NOT NULL,
        kind          TEXT NOT NULL CHECK (kind IN ('app', 'os')),
        arch          TEXT NOT NULL,
        target        TEXT NOT NULL,
        sha256        TEXT NOT NULL,
        length        BIGINT NOT NULL,
        published_at  TEXT NOT NULL,
        PRIMARY KEY (version, kind, arch)
    );
    CREATE TABLE terminal_tags (
        terminal_id  TEXT NOT NULL,
        tag          TEXT NOT NULL,
        PRIMARY KEY (terminal_id, tag)
    );
    CREATE INDEX terminal_tags_tag ON terminal_tags(tag);
    CREATE TABLE rollouts (
        id                 BIGSERIAL PRIMARY KEY,
        version            TEXT NOT NULL,
        kind               TEXT NOT NULL CHECK (kind IN ('app', 'os')),
        filter_site        TEXT,
        filter_version     TEXT,
        filter_tag         TEXT,
        groups_spec        TEXT NOT NULL,
        success_threshold  BIGINT NOT NULL,
        error_threshold    BIGINT NOT NULL,
        window_spec        TEXT,
        state              TEXT NOT NULL,
        stop_reason        TEXT,
        active_group       BIGINT NOT NULL DEFAULT 0,
        created_by         TEXT NOT NULL,
        created_at         TEXT NOT NULL,
        updated_at         TEXT NOT NULL
    );
    CREATE INDEX rollouts_state ON rollouts(state);
    CREATE TABLE rollout_terminals (
        rollout_id   BIGINT NOT NULL REFERENCES rollouts(id),
        terminal_id  TEXT NOT NULL,
        group_no     BIGINT NOT NULL,
        state        TEXT,
        detail       TEXT NOT NULL DEFAULT '',
        reported_at  BIGINT,
        offered_at   TEXT,
        updated_at   TEXT NOT NULL,
        PRIMARY KEY (rollout_id, terminal_id)
    );
    CREATE INDEX rollout_terminals_terminal ON rollout_terminals(terminal_id);
    CREATE TABLE rollout_start_locks (
        kind        TEXT PRIMARY KEY,
        holder      TEXT NOT NULL,
        claimed_at  BIGINT NOT NULL
    );",
    // 7: console accounts that can be disabled, and the audit log's filters (by kind and by
    // operator, newest first).
    "ALTER TABLE operators ADD COLUMN disabled_at TEXT;
    CREATE INDEX audit_log_action ON audit_log(action, id);
    CREATE INDEX audit_log_operator ON audit_log(operator, id);",
    // 8: certificates issued, so the public verification page can say what one certifies:
    // its code (a keyed MAC of the record), the record as printed (ID number and name
    // masked), when and by which terminal.
    "CREATE TABLE certificates (
        code         TEXT PRIMARY KEY,
        kind         TEXT NOT NULL,
        record       TEXT NOT NULL,
        issued_at    TEXT NOT NULL,
        terminal_id  TEXT NOT NULL
    );
    CREATE INDEX certificates_terminal ON certificates(terminal_id);",
    // 9: trust in terminals: tokens that re-key one named terminal, revocation, and alarms an
    // operator clears. One open alarm per terminal, kind and subject (a repeat counts up
    // rather than adding rows, so a refused attacker cannot flood the table).
    "ALTER TABLE enrollment_tokens ADD COLUMN for_terminal TEXT;
    ALTER TABLE terminals ADD COLUMN revoked_at TEXT;
    ALTER TABLE terminals ADD COLUMN revoked_reason TEXT;
    CREATE TABLE alarms (
        id           BIGSERIAL PRIMARY KEY,
        terminal_id  TEXT NOT NULL,
        kind         TEXT NOT NULL,
        subject      TEXT NOT NULL,
        detail       TEXT NOT NULL,
        raised_at    TEXT NOT NULL,
        last_at      TEXT NOT NULL,
        occurrences  BIGINT NOT NULL DEFAULT 1,
        cleared_at   TEXT,
        cleared_by   TEXT
    );
    CREATE UNIQUE INDEX alarms_open ON alarms(terminal_id, kind, subject) WHERE cleared_at IS NULL;",
    // 10: material chunks encrypted under the key file's data key; the ones stored in clear
    // before are encrypted at the next start (`Store::use_keys`), which this marks.
    "ALTER TABLE upload_chunks ADD COLUMN encrypted BOOLEAN NOT NULL DEFAULT FALSE;",
    // 11: citizens' records only for the card holder: a digest of the keyed ID number and the
    // name beside the applicant key (filled for old applications at start), and the trail of
    // record queries, which also counts the citizens each terminal asked about. The partial
    // index keeps the fill at start from reading every application once all have their key.
    "ALTER TABLE applications ADD COLUMN holder_key TEXT;
    CREATE INDEX applications_holder ON applications(holder_key);
    CREATE INDEX applications_without_holder ON applications(id) WHERE holder_key IS NULL;
    ALTER TABLE appointments ADD COLUMN holder_key TEXT;
    CREATE INDEX appointments_holder ON appointments(holder_key, day);
    CREATE TABLE record_queries (
        id           BIGSERIAL PRIMARY KEY,
        terminal_id  TEXT NOT NULL,
        at           BIGINT NOT NULL,
        kind         TEXT NOT NULL,
        matter       TEXT,
        outcome      TEXT NOT NULL,
        records      BIGINT NOT NULL,
        subject      TEXT
    );
    CREATE INDEX record_queries_terminal ON record_queries(terminal_id, at);",
    // 12: when each catalog version stopped being current, so answers made against it may
    // still arrive from a terminal's outbox within a grace period. A version retired before
    // this was recorded is taken to have retired when the next one was published.
    "ALTER TABLE catalog_versions ADD COLUMN retired_at TEXT;
    UPDATE catalog_versions SET retired_at = COALESCE(
        (SELECT MIN(later.published_at) FROM catalog_versions later
          WHERE later.published_at > catalog_versions.published_at),
        published_at)
     WHERE NOT current;",
    // 13: the matter editor. The role check gains `editor`, which no engine can alter in
    // place the same way, so the accounts are copied into a new table (sessions are dropped:
    // everyone logs in again once). An editor's departments; one draft per matter (the whole
    // matter as JSON, the department it belongs to); and the catalog version a site's
    // terminals get instead of the current one.
    "DROP TABLE console_sessions;
    CREATE TABLE operators_v12 (
        name           TEXT PRIMARY KEY,
        password_hash  TEXT NOT NULL,
        role           TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'operator', 'admin')),
        created_at     TEXT NOT NULL,
        disabled_at    TEXT
    );
    INSERT INTO operators_v12 (name, password_hash, role, created_at, disabled_at)
        SELECT name, password_hash, role, created_at, disabled_at FROM operators;
    DROP TABLE operators;
    ALTER TABLE operators_v12 RENAME TO operators;
    CREATE TABLE console_sessions (
        token_hash  TEXT PRIMARY KEY,
        operator    TEXT NOT NULL REFERENCES operators(name) ON DELETE CASCADE,
        csrf        TEXT NOT NULL,
        expires_at  BIGINT NOT NULL
    );
    CREATE TABLE operator_departments (
        operator    TEXT NOT NULL REFERENCES operators(name) ON DELETE CASCADE,
        department  TEXT NOT NULL,
        PRIMARY KEY (operator, department)
    );
    CREATE TABLE matter_drafts (
        matter_id   TEXT PRIMARY KEY,
        department  TEXT NOT NULL,
        body        TEXT NOT NULL,
        saved_by    TEXT NOT NULL,
        saved_at    TEXT NOT NULL
    );
    CREATE INDEX matter_drafts_department ON matter_drafts(department);
    CREATE TABLE site_catalogs (
        site          TEXT PRIMARY KEY,
        version       TEXT NOT NULL REFERENCES catalog_versions(version),
        activated_by  TEXT NOT NULL,
        activated_at  TEXT NOT NULL
    );",
    // 14: the application's life after the terminal. Each application gains its department
    // (from the catalog at acceptance), the day it is due, when it entered its state, when it
    // finished and when its personal data was purged; every step is an event. Commitments
    // under 容缺受理 have a due day and a receipt; the working-day calendar keeps the days
    // that differ from Monday-to-Friday. Ratings become one per stage (acceptance at the
    // terminal, completion) with the national indicators, copied into a new table because
    // neither engine can change a UNIQUE constraint the same way; a bad rating opens a case.
    // Departments' connectors and their deliveries, and the inbound reports already applied.
    // The role check gains `clerk` (the department's workbench); accounts and their
    // departments are copied across, sessions dropped (everyone logs in again once).
    "ALTER TABLE applications ADD COLUMN department TEXT;
    ALTER TABLE applications ADD COLUMN due_on TEXT;
    ALTER TABLE applications ADD COLUMN state_at TEXT;
    ALTER TABLE applications ADD COLUMN finished_at TEXT;
    ALTER TABLE applications ADD COLUMN purged_at TEXT;
    CREATE INDEX applications_queue ON applications(department, state, accepted_at);
    CREATE INDEX applications_finished ON applications(finished_at) WHERE purged_at IS NULL;
    CREATE TABLE application_events (
        id              BIGSERIAL PRIMARY KEY,
        application_no  TEXT NOT NULL,
        at              TEXT NOT NULL,
        state           TEXT NOT NULL,
        action          TEXT NOT NULL,
        actor           TEXT NOT NULL,
        detail          TEXT
    );
    CREATE INDEX application_events_no ON application_events(application_no, id);
    CREATE TABLE commitments (
        application_no  TEXT NOT NULL,
        material_index  BIGINT NOT NULL,
        due_on          TEXT NOT NULL,
        received_at     TEXT,
        received_by     TEXT,
        PRIMARY KEY (application_no, material_index)
    );
    CREATE INDEX commitments_open ON commitments(due_on) WHERE received_at IS NULL;
    CREATE TABLE calendar_days (
        day      TEXT PRIMARY KEY,
        working  BOOLEAN NOT NULL,
        note     TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE ratings_v14 (
        id              BIGSERIAL PRIMARY KEY,
        application_no  TEXT NOT NULL REFERENCES applications(application_no),
        stage           TEXT NOT NULL DEFAULT 'acceptance' CHECK (stage IN ('acceptance', 'completion')),
        matter_id       TEXT NOT NULL,
        terminal_id     TEXT,
        channel         TEXT NOT NULL DEFAULT 'terminal',
        level           INTEGER NOT NULL CHECK (level BETWEEN 1 AND 5),
        reason          TEXT,
        overall         INTEGER,
        efficiency      INTEGER,
        competence      INTEGER,
        attitude        INTEGER,
        rated_at        TEXT NOT NULL,
        UNIQUE (application_no, stage)
    );
    INSERT INTO ratings_v14 (application_no, stage, matter_id, terminal_id, level, reason, rated_at)
        SELECT application_no, 'acceptance', matter_id, terminal_id, level, reason, rated_at
          FROM ratings ORDER BY id;
    DROP TABLE ratings;
    ALTER TABLE ratings_v14 RENAME TO ratings;
    CREATE TABLE rating_cases (
        id              BIGSERIAL PRIMARY KEY,
        rating_id       BIGINT NOT NULL UNIQUE,
        application_no  TEXT NOT NULL,
        department      TEXT NOT NULL,
        opened_at       TEXT NOT NULL,
        due_on          TEXT NOT NULL,
        answered_at     TEXT,
        answered_by     TEXT,
        visit           TEXT,
        rectification   TEXT,
        reply           TEXT
    );
    CREATE INDEX rating_cases_department ON rating_cases(department, answered_at, due_on);
    CREATE TABLE connectors (
        department        TEXT PRIMARY KEY,
        url               TEXT NOT NULL,
        secret            TEXT NOT NULL,
        inbound_key_hash  TEXT NOT NULL,
        enabled           BOOLEAN NOT NULL DEFAULT TRUE,
        created_at        TEXT NOT NULL
    );
    CREATE TABLE deliveries (
        id              TEXT PRIMARY KEY,
        department      TEXT NOT NULL,
        application_no  TEXT NOT NULL,
        state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
        attempts        BIGINT NOT NULL DEFAULT 0,
        next_at         BIGINT NOT NULL,
        last_error      TEXT,
        created_at      TEXT NOT NULL,
        delivered_at    TEXT,
        UNIQUE (department, application_no)
    );
    CREATE INDEX deliveries_due ON deliveries(state, next_at);
    CREATE TABLE inbound_reports (
        department      TEXT NOT NULL,
        report_id       TEXT NOT NULL,
        application_no  TEXT NOT NULL,
        received_at     TEXT NOT NULL,
        outcome         TEXT NOT NULL,
        PRIMARY KEY (department, report_id)
    );
    DROP TABLE console_sessions;
    CREATE TABLE operator_departments_kept AS SELECT operator, department FROM operator_departments;
    DROP TABLE operator_departments;
    CREATE TABLE operators_v14 (
        name           TEXT PRIMARY KEY,
        password_hash  TEXT NOT NULL,
        role           TEXT NOT NULL CHECK (role IN ('viewer', 'clerk', 'editor', 'operator', 'admin')),
        created_at     TEXT NOT NULL,
        disabled_at    TEXT
    );
    INSERT INTO operators_v14 (name, password_hash, role, created_at, disabled_at)
        SELECT name, password_hash, role, created_at, disabled_at FROM operators;
    DROP TABLE operators;
    ALTER TABLE operators_v14 RENAME TO operators;
    CREATE TABLE console_sessions (
        token_hash  TEXT PRIMARY KEY,
        operator    TEXT NOT NULL REFERENCES operators(name) ON DELETE CASCADE,
        csrf        TEXT NOT NULL,
        expires_at  BIGINT NOT NULL
    );
    CREATE TABLE operator_departments (
        operator    TEXT NOT NULL REFERENCES operators(name) ON DELETE CASCADE,
        department  TEXT NOT NULL,
        PRIMARY KEY (operator, department)
    );
    INSERT INTO operator_departments (operator, department)
        SELECT operator, department FROM operator_departments_kept;
    DROP TABLE operator_departments_kept;",
    // 15: the clerk's queue, newest first a page at a time within the clerk's departments,
    // walks the first index instead of sorting every application of the department; the second
    // finds where a range of days of acceptance starts and ends.
    "CREATE INDEX applications_department_id ON applications(department, id);
    CREATE INDEX applications_accepted ON applications(accepted_at);",
    // 16: a department's deliveries by state, newest first: the connectors page counts them
    // and lists the dead letters of each department without reading every delivery ever made.
    "CREATE INDEX deliveries_department ON deliveries(department, state, created_at);",
    // 17: a 补正 answered at a terminal. The applicant's card opens the asked materials for
    // uploads from that terminal (any terminal, not only the one that took the application)
    // until it submits; each upload made under it names the grant, so only files photographed
    // for this 补正 answer it.
    "CREATE TABLE correction_grants (
        id              BIGSERIAL PRIMARY KEY,
        application_no  TEXT NOT NULL,
        terminal_id     TEXT NOT NULL,
        materials       TEXT NOT NULL,
        opened_at       TEXT NOT NULL,
        closed_at       TEXT
    );
    CREATE INDEX correction_grants_open ON correction_grants(application_no, terminal_id) WHERE closed_at IS NULL;
    ALTER TABLE uploads ADD COLUMN correction_grant BIGINT;",
    // 18: a completed application's result documents (结果文书, a PDF), encrypted like materials.
    "CREATE TABLE result_documents (
        id              BIGSERIAL PRIMARY KEY,
        application_no  TEXT NOT NULL,
        size            BIGINT NOT NULL,
        sha256          TEXT NOT NULL,
        data            BYTEA NOT NULL,
        stored_by       TEXT NOT NULL,
        stored_at       TEXT NOT NULL
    );
    CREATE INDEX result_documents_application ON result_documents(application_no);",
];

/// The spellings SQLite needs instead of PostgreSQL's, and nothing else: `BIGSERIAL PRIMARY KEY`
/// (a 64-bit key the database numbers) is SQLite's `INTEGER PRIMARY KEY AUTOINCREMENT` (which
/// also never reuses a number), `BYTEA` is `BLOB`.
const SQLITE_SPELLINGS: &[(&str, &str)] = &[
    ("BIGSERIAL PRIMARY KEY", "INTEGER PRIMARY KEY AUTOINCREMENT"),
    ("BYTEA", "BLOB"),
];

/// A migration as SQLite runs it.
pub(crate) fn sqlite(migration: &str) -> Cow<'_, str> {
    let mut text = Cow::Borrowed(migration);
    for (postgres, sqlite) in SQLITE_SPELLINGS {
        if text.contains(postgres) {
            text = Cow::Owned(text.replace(postgres, sqlite));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_spells_keys_and_bytes_its_own_way() {
        let all: String = MIGRATIONS.iter().map(|m| sqlite(m)).collect();
        assert!(!all.contains("BIGSERIAL") && !all.contains("BYTEA"));
        assert!(all.contains("id               INTEGER PRIMARY KEY AUTOINCREMENT,"));
        assert!(all.contains("data       BLOB NOT NULL"));
    }

    #[test]
    fn every_migration_runs_on_sqlite() {
        let conn = rusqlite::Connection::open_in_memory().expect("memory database");
        for migration in MIGRATIONS {
            conn.execute_batch(&sqlite(migration))
                .expect("migration runs");
        }
    }
}
