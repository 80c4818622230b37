//! [`Browser`]: the ops console as a browser uses it, over real HTTP: the login form with its
//! pairing cookie, the `lyb_console` session cookie, the `csrf` hidden field on every form,
//! redirects not followed (a test asserts on them), and the matter editor's form fields.
//!
//! Suites of the platform (in-process) and end-to-end ones (the real `kiosk-platform serve`)
//! drive the console the same way, so the forms a test posts are the ones an editor posts.

use std::net::IpAddr;

use reqwest::{Method, StatusCode};

/// `pairs` as an `application/x-www-form-urlencoded` body, as a browser posts a form.
pub fn encode(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The value of `name="NAME" value="..."` in a page.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// The `Set-Cookie` header of `response` that sets cookie `name`, attributes included.
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// A client that follows no redirects, its connections coming from `from` (a loopback
/// address: every 127.x.y.z reaches the platform, each a client address of its own).
pub fn client(from: Option<IpAddr>) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(from)
        .build()
        .expect("client")
}

/// One login attempt on the console at `base`: the login page, then the form posted with its
/// pairing cookie.
pub async fn attempt(
    base: &str,
    http: &reqwest::Client,
    name: &str,
    password: &str,
) -> reqwest::Response {
    let page = http
        .get(format!("{base}/console/login"))
        .send()
        .await
        .expect("answer");
    let pairing = set_cookie(&page, "lyb_login").expect("login cookie");
    let pairing = pairing.split(';').next().unwrap_or_default().to_owned();
    let html = page.text().await.expect("html");
    let login_csrf = hidden(&html, "login_csrf").expect("login csrf");
    http.post(format!("{base}/console/login"))
        .header("cookie", &pairing)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[
            ("login_csrf", &login_csrf),
            ("name", name),
            ("password", password),
        ]))
        .send()
        .await
        .expect("answer")
}

/// A logged-in console session: its cookie and the CSRF token its pages carry.
pub struct Browser {
    /// The platform's base URL.
    pub base: String,
    /// The client, redirects off.
    pub http: reqwest::Client,
    /// `lyb_console=…`, as sent back.
    pub cookie: String,
    /// The session's CSRF token, from the console's pages.
    pub csrf: String,
}

impl Browser {
    /// Logs `name` in on the console at `base`; the status of a refused login.
    pub async fn login(base: &str, name: &str, password: &str) -> Result<Browser, StatusCode> {
        Self::login_from(base, None, name, password).await
    }

    /// Logs `name` in from the loopback address `from`; the status of a refused login.
    pub async fn login_from(
        base: &str,
        from: Option<IpAddr>,
        name: &str,
        password: &str,
    ) -> Result<Browser, StatusCode> {
        let http = client(from);
        let answer = attempt(base, &http, name, password).await;
        if answer.status() != StatusCode::SEE_OTHER {
            return Err(answer.status());
        }
        let session = set_cookie(&answer, "lyb_console").expect("session cookie");
        assert!(
            session.contains("HttpOnly") && session.contains("SameSite=Strict"),
            "{session}"
        );
        let cookie = session.split(';').next().unwrap_or_default().to_owned();
        let mut browser = Browser {
            base: base.to_owned(),
            http,
            cookie,
            csrf: String::new(),
        };
        let (_, html) = browser.get("/console").await;
        browser.csrf = hidden(&html, "csrf").expect("csrf in page");
        Ok(browser)
    }

    /// The raw answer to `method path`, with this session's cookie (and a form `body`).
    pub async fn answer(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("cookie", &self.cookie);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body);
        }
        request.send().await.expect("answer")
    }

    /// `GET path`: status and page.
    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        let answer = self.answer(Method::GET, path, None).await;
        (answer.status(), answer.text().await.expect("html"))
    }

    /// Posts the form `fields` to `path`: status and page.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
        let answer = self.answer(Method::POST, path, Some(encode(fields))).await;
        (answer.status(), answer.text().await.expect("html"))
    }

    /// Posts `matter`'s fields (with this session's CSRF token) to the editor.
    pub async fn save_matter(&self, matter: &kiosk_protocol::Matter) -> (StatusCode, String) {
        let mut fields = matter_fields(matter);
        fields.push(("csrf".into(), self.csrf.clone()));
        fields.push(("action".into(), "save".into()));
        let borrowed: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.post(&format!("/console/editor/matters/{}", matter.id), &borrowed)
            .await
    }

    /// Reviews and publishes this user's drafts; the new version's name.
    pub async fn publish_drafts(&self) -> String {
        let (status, review) = self.get("/console/editor/publish").await;
        assert_eq!(status, StatusCode::OK, "{review}");
        let reviewed = hidden(&review, "reviewed").expect("a publish form");
        let (status, done) = self
            .post(
                "/console/editor/publish",
                &[("csrf", &self.csrf), ("reviewed", &reviewed)],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{done}");
        let at = done.find("Published ").expect("published") + "Published ".len();
        done[at..].split(':').next().unwrap_or_default().to_owned()
    }

    /// Gives catalog `version` to the terminals at `site`.
    pub async fn activate(&self, site: &str, version: &str) -> (StatusCode, String) {
        self.post(
            "/console/editor/sites",
            &[
                ("csrf", &self.csrf),
                ("site", site),
                ("version", version),
                ("action", "activate"),
            ],
        )
        .await
    }
}

fn pair(out: &mut Vec<(String, String)>, name: &str, text: &kiosk_protocol::LocalizedText) {
    out.push((format!("{name}.zh"), text.zh.clone()));
    out.push((format!("{name}.en"), text.en.clone()));
}

/// The edit form's fields for `matter`, as the editor page names them and a browser posts
/// them: every guide field and every rule of every form field, so a matter saved unchanged
/// stays the same.
pub fn matter_fields(matter: &kiosk_protocol::Matter) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    pair(&mut out, "name", &matter.name);
    pair(&mut out, "applicant", &matter.applicant);
    pair(&mut out, "handling_office", &matter.handling_office);
    pair(&mut out, "fees", &matter.fees);
    pair(&mut out, "place_and_hours", &matter.place_and_hours);
    for (i, c) in matter.conditions.iter().enumerate() {
        pair(&mut out, &format!("conditions.{i}"), c);
    }
    for (i, s) in matter.procedure.iter().enumerate() {
        pair(&mut out, &format!("procedure.{i}"), s);
    }
    for (i, m) in matter.materials.iter().enumerate() {
        pair(&mut out, &format!("materials.{i}.name"), &m.name);
        let form = serde_json::to_value(m.form).expect("form");
        let supply = serde_json::to_value(m.supply).expect("supply");
        out.push((
            format!("materials.{i}.form"),
            form.as_str().unwrap_or_default().into(),
        ));
        out.push((format!("materials.{i}.copies"), m.copies.to_string()));
        out.push((
            format!("materials.{i}.supply"),
            supply.as_str().unwrap_or_default().into(),
        ));
        if m.waivable {
            out.push((format!("materials.{i}.waivable"), "on".into()));
        }
    }
    let (kind, days) = match matter.time_limit {
        kiosk_protocol::TimeLimit::Immediate => ("immediate", 1),
        kiosk_protocol::TimeLimit::WorkingDays { days } => ("working_days", days),
    };
    out.push(("time_limit.kind".into(), kind.into()));
    out.push(("time_limit.days".into(), days.to_string()));
    out.push(("pinyin_initials".into(), matter.pinyin_initials.clone()));
    out.push(("enquiry_phone".into(), matter.enquiry_phone.clone()));
    out.push(("complaint_phone".into(), matter.complaint_phone.clone()));
    if matter.kiosk_application {
        out.push(("kiosk_application".into(), "on".into()));
    }
    for (s, section) in matter
        .form
        .iter()
        .flat_map(|f| f.sections.iter())
        .enumerate()
    {
        out.push((format!("form.{s}.id"), section.id.clone()));
        pair(&mut out, &format!("form.{s}.title"), &section.title);
        for (f, field) in section.fields.iter().enumerate() {
            form_field_fields(&mut out, &format!("form.{s}.{f}"), field);
        }
    }
    out
}

/// One form field's row of the editor: its id, kind, texts, rules, prefill and visibility.
fn form_field_fields(
    out: &mut Vec<(String, String)>,
    row: &str,
    field: &kiosk_protocol::form::FormField,
) {
    let kind = serde_json::to_value(&field.kind).expect("field kind");
    out.push((format!("{row}.id"), field.id.clone()));
    out.push((
        format!("{row}.kind"),
        kind["kind"].as_str().unwrap_or_default().into(),
    ));
    pair(out, &format!("{row}.label"), &field.label);
    if let Some(help) = &field.help {
        pair(out, &format!("{row}.help"), help);
    }
    if field.required {
        out.push((format!("{row}.required"), "on".into()));
    }
    for rule in [
        "min_len",
        "max_len",
        "pattern",
        "min",
        "max",
        "decimals",
        "street_max_len",
    ] {
        match &kind[rule] {
            serde_json::Value::Number(n) => out.push((format!("{row}.{rule}"), n.to_string())),
            serde_json::Value::String(s) => out.push((format!("{row}.{rule}"), s.clone())),
            _ => {}
        }
    }
    // The two texts a kind may carry: a number's unit, a consent's declaration.
    for (rule, part) in [("unit", "unit"), ("text", "consent")] {
        if let Ok(text) = serde_json::from_value(kind[rule].clone()) {
            pair(out, &format!("{row}.{part}"), &text);
        }
    }
    let options: Vec<String> = kind["options"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            format!(
                "{} | {} | {}",
                o["value"].as_str().unwrap_or_default(),
                o["label"]["zh"].as_str().unwrap_or_default(),
                o["label"]["en"].as_str().unwrap_or_default()
            )
        })
        .collect();
    out.push((format!("{row}.options"), options.join("\n")));
    if let Some(prefill) = field.prefill {
        let from = serde_json::to_value(prefill.from).expect("card field");
        out.push((
            format!("{row}.prefill"),
            from.as_str().unwrap_or_default().into(),
        ));
        if prefill.editable {
            out.push((format!("{row}.prefill_editable"), "on".into()));
        }
    }
    if let Some(when) = &field.visible_when {
        out.push((format!("{row}.visible_field"), when.field.clone()));
        out.push((
            format!("{row}.visible_equals"),
            when.equals.clone().unwrap_or_default(),
        ));
    }
}
