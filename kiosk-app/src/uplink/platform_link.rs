//! The terminal's HTTP link to the central platform.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use kiosk_protocol::{
    ApiError, ApplicationReceipt, ApplicationRequest, Catalog, CertificateRequest, CheckInRequest,
    CheckInResponse, CommandResult, CorrectionAnswered, CorrectionOpened, CorrectionOpening,
    CorrectionSubmission, EnrollRequest, EnrollResponse, Health, Heartbeat, HeartbeatResponse,
    IDEMPOTENCY_KEY_HEADER, ProgressRequest, ProgressResponse, RatingRequest, SignedContent,
    TerminalConfig, Ticket, TicketRequest, UploadRequest, UploadSession, UploadedMaterial,
    sign_request_v2,
};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::KioskConfig;
use crate::unix_now;
use crate::uplink::identity::TerminalIdentity;
use crate::uplink::tls::{
    PlainHttpRefused, PlatformTls, TlsPin, check_platform_url, is_certificate_refusal,
};

/// Why a platform call failed.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// No answer: network down, platform down, or too slow.
    #[error("the platform at {url} cannot be reached: {detail}")]
    Unreachable {
        /// Platform base URL.
        url: String,
        /// Transport error.
        detail: String,
    },
    /// The platform answered with an error.
    #[error("the platform refused the request ({status}): {code}: {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Error code from the body.
        code: String,
        /// Explanation from the body.
        message: String,
    },
    /// The platform answered something this terminal does not understand.
    #[error("the platform's answer cannot be understood: {0}")]
    BadAnswer(String),
    /// The URL is plain `http://` to another machine.
    #[error(transparent)]
    PlainHttp(#[from] PlainHttpRefused),
    /// The server presented a certificate this terminal does not trust: not the pinned key
    /// (or CA), or, before any pin, not one the system's roots vouch for. Nothing was sent.
    #[error(
        "平台证书不受信任（不是登记时固定的证书），未发送任何数据 / the certificate presented at {url} is not trusted (not the one pinned at enrollment); nothing was sent"
    )]
    UntrustedCertificate {
        /// Platform base URL.
        url: String,
    },
}

/// What a conditional catalog request brought back.
#[derive(Debug)]
pub enum CatalogAnswer {
    /// The version held is still the one to run (304).
    Unchanged,
    /// Another catalog, valid.
    Changed(Catalog),
}

/// The platform's code for a terminal an operator revoked (on every signed request).
pub const TERMINAL_REVOKED: &str = "terminal_revoked";

impl LinkError {
    /// True when retrying later may succeed. A revoked terminal counts: an operator may
    /// restore it, and what it holds (the outbox, update reports) must wait for that rather
    /// than be set aside as refused.
    pub fn is_transient(&self) -> bool {
        match self {
            // An untrusted certificate may be a transient interception (or a certificate
            // switched before its pin was announced): what waits must keep waiting.
            LinkError::Unreachable { .. } | LinkError::UntrustedCertificate { .. } => true,
            LinkError::Refused { status, .. } => {
                *status >= 500 || *status == 429 || self.is_revoked()
            }
            LinkError::BadAnswer(_) | LinkError::PlainHttp(_) => false,
        }
    }

    /// True when the platform refused the request because an operator revoked this terminal.
    pub fn is_revoked(&self) -> bool {
        matches!(self, LinkError::Refused { status: 401, code, .. } if code == TERMINAL_REVOKED)
    }

    /// True when the platform suspended this terminal's queries of citizens' records (it asked
    /// about more citizens than stand at a terminal) until an operator clears the alarm:
    /// waiting a little does not help the citizen in front of it.
    pub fn is_record_queries_suspended(&self) -> bool {
        matches!(self, LinkError::Refused { status: 429, code, .. }
            if code == kiosk_protocol::RECORD_QUERIES_SUSPENDED)
    }
}

/// Client of the platform's terminal API.
///
/// Every `/v1` request an enrolled terminal makes is signed with its key
/// ([`kiosk_protocol::auth`]): the platform answers unsigned ones with 401. The link made with
/// [`PlatformLink::new`] has no identity and can only check health and enroll.
#[derive(Clone)]
pub struct PlatformLink {
    base: String,
    tls: PlatformTls,
    http: reqwest::Client,
    identity: Option<Arc<TerminalIdentity>>,
    /// The data folder whose identity file keeps pins the platform announces.
    keeps_pins_in: Option<Arc<Path>>,
    /// The sealing key the platform last published (heartbeat answers), shared by every clone
    /// of this link; `None` until it did, when enrollment's key is used.
    published_sealing_key: Arc<std::sync::RwLock<Option<String>>>,
}

impl PlatformLink {
    /// A link to the platform at `base` (e.g. `https://platform.example.cn`), not yet signing,
    /// checking its certificate by `tls`. Plain `http://` is refused unless to loopback.
    pub fn new(base: &str, timeout: Duration, tls: PlatformTls) -> Result<Self, LinkError> {
        check_platform_url(base)?;
        let unusable = |detail: String| LinkError::Unreachable {
            url: base.to_owned(),
            detail,
        };
        let http = tls
            .client_builder()
            .map_err(|e| unusable(e.to_string()))?
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("lianyibao-kiosk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| unusable(e.to_string()))?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            tls,
            http,
            identity: None,
            keeps_pins_in: None,
            published_sealing_key: Arc::default(),
        })
    }

    /// A link to the platform `identity` enrolled with, signing every request with its key
    /// and trusting only the certificates its pins name.
    pub fn enrolled(identity: Arc<TerminalIdentity>, timeout: Duration) -> Result<Self, LinkError> {
        let mut link = Self::new(&identity.platform, timeout, identity.platform_tls())?;
        link.identity = Some(identity);
        Ok(link)
    }

    /// The signed link of an enrolled terminal, towards the platform `config` names (when it
    /// has moved since enrollment) or the one the terminal enrolled with.
    pub fn configured(config: &KioskConfig, identity: TerminalIdentity) -> Result<Self, LinkError> {
        let url = config
            .platform_url(Some(&identity.platform))
            .unwrap_or_default();
        let mut link = Self::enrolled(Arc::new(identity), config.platform_timeout())?
            .keeping_pins_in(&config.data_dir);
        if url != link.base() {
            link = link.towards(&url)?;
        }
        Ok(link)
    }

    /// The same link, keeping the TLS pins the platform announces in the identity file in
    /// `data_dir` (so they hold after a restart).
    pub fn keeping_pins_in(mut self, data_dir: &Path) -> Self {
        self.keeps_pins_in = Some(data_dir.into());
        self
    }

    /// The same link pointed at another base URL (the platform has moved), with the same
    /// pins: a move keeps the platform's key or CA.
    pub fn towards(mut self, base: &str) -> Result<Self, LinkError> {
        check_platform_url(base)?;
        self.base = base.trim_end_matches('/').to_owned();
        Ok(self)
    }

    /// How this link checks the platform's certificate (the updater's downloads use the same).
    pub fn tls(&self) -> &PlatformTls {
        &self.tls
    }

    /// The platform's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The platform's key applications are sealed to: the newest it published, else the one
    /// enrollment gave.
    pub fn sealing_key(&self) -> Option<String> {
        let published = self
            .published_sealing_key
            .read()
            .map(|k| k.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone());
        published.or_else(|| self.identity.as_deref().and_then(|i| i.sealing_key.clone()))
    }

    /// Takes the sealing key the platform published (after `keys rotate`): what is kept from
    /// now on is sealed to it. A key that does not parse is ignored. True when it changed.
    pub fn adopt_sealing_key(&self, hex: &str) -> bool {
        if kiosk_protocol::sealing::parse_sealing_key(hex).is_err()
            || self.sealing_key().as_deref() == Some(hex)
        {
            return false;
        }
        match self.published_sealing_key.write() {
            Ok(mut key) => *key = Some(hex.to_owned()),
            Err(poisoned) => *poisoned.into_inner() = Some(hex.to_owned()),
        }
        true
    }

    /// The terminal id requests are signed as, once enrolled.
    pub fn terminal_id(&self) -> Option<&str> {
        self.identity.as_deref().map(|i| i.terminal_id.as_str())
    }

    fn unreachable(&self, e: reqwest::Error) -> LinkError {
        if is_certificate_refusal(&e) {
            return LinkError::UntrustedCertificate {
                url: self.base.clone(),
            };
        }
        // reqwest's own message names only the request; the causes (refused connection,
        // TLS alert, timeout) are what a technician needs.
        let mut detail = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            detail.push_str(": ");
            detail.push_str(&cause.to_string());
            source = cause.source();
        }
        LinkError::Unreachable {
            url: self.base.clone(),
            detail,
        }
    }

    async fn refused(response: reqwest::Response) -> LinkError {
        let status = response.status().as_u16();
        match response.json::<ApiError>().await {
            Ok(body) => LinkError::Refused {
                status,
                code: body.code,
                message: body.message,
            },
            Err(_) => LinkError::Refused {
                status,
                code: "unknown".into(),
                message: "no error body".into(),
            },
        }
    }

    /// Sends one request, signed when this link has an identity, and returns the answer when
    /// it is a success.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        headers: &[(&str, &str)],
    ) -> Result<reqwest::Response, LinkError> {
        self.send_typed(method, path, body.map(|b| (b, "application/json")), headers)
            .await
    }

    /// [`PlatformLink::send`] with a body of the given content type.
    async fn send_typed(
        &self,
        method: Method,
        path: &str,
        body: Option<(Vec<u8>, &str)>,
        headers: &[(&str, &str)],
    ) -> Result<reqwest::Response, LinkError> {
        let response = self.dispatch(method, path, body, headers).await?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(Self::refused(response).await)
        }
    }

    /// Sends one request, signed when this link has an identity, and returns whatever the
    /// platform answered.
    async fn dispatch(
        &self,
        method: Method,
        path: &str,
        body: Option<(Vec<u8>, &str)>,
        headers: &[(&str, &str)],
    ) -> Result<reqwest::Response, LinkError> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(identity) = &self.identity {
            // Scheme V2: the content type and idempotency key are signed with the body, so
            // nobody on the path can resend it as another application or another type.
            let content = SignedContent {
                method: method.as_str(),
                path_and_query: path,
                content_type: body.as_ref().map(|(_, content_type)| *content_type),
                idempotency_key: headers
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(IDEMPOTENCY_KEY_HEADER))
                    .map(|(_, value)| *value),
                body: body.as_ref().map(|(b, _)| b.as_slice()).unwrap_or_default(),
            };
            let signed = sign_request_v2(
                identity.signing_key(),
                &identity.terminal_id,
                unix_now(),
                &fresh_nonce()?,
                &content,
            );
            for (name, value) in signed.pairs() {
                request = request.header(name, value);
            }
        }
        if let Some((body, content_type)) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body);
        }
        request.send().await.map_err(|e| self.unreachable(e))
    }

    async fn json<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, LinkError> {
        response
            .json()
            .await
            .map_err(|e| LinkError::BadAnswer(e.to_string()))
    }

    fn body(value: &impl Serialize) -> Result<Vec<u8>, LinkError> {
        serde_json::to_vec(value).map_err(|e| LinkError::BadAnswer(e.to_string()))
    }

    /// `GET /healthz`.
    pub async fn health(&self) -> Result<Health, LinkError> {
        Self::json(self.send(Method::GET, "/healthz", None, &[]).await?).await
    }

    /// `POST /v1/enroll`: binds this terminal's new key to a terminal id, once per token.
    pub async fn enroll(&self, request: &EnrollRequest) -> Result<EnrollResponse, LinkError> {
        let body = Self::body(request)?;
        Self::json(
            self.send(Method::POST, "/v1/enroll", Some(body), &[])
                .await?,
        )
        .await
    }

    /// `GET /v1/catalog`, validated before use.
    pub async fn catalog(&self) -> Result<Catalog, LinkError> {
        match self.catalog_unless(None).await? {
            CatalogAnswer::Changed(catalog) => Ok(catalog),
            CatalogAnswer::Unchanged => Err(LinkError::BadAnswer(
                "304 Not Modified to an unconditional catalog request".into(),
            )),
        }
    }

    /// `GET /v1/catalog` with `If-None-Match` on the version `held` (its ETag): the platform
    /// answers 304 without a body while that version is still the one to run, so checking
    /// often costs next to nothing. A new catalog is validated before use; one that is not
    /// valid is refused (and the one held kept).
    pub async fn catalog_unless(&self, held: Option<&str>) -> Result<CatalogAnswer, LinkError> {
        // A version that cannot travel in a header (the platform never serves one) is not
        // asked about: the request is then unconditional.
        let tag = held
            .map(|v| format!("\"{v}\""))
            .filter(|t| reqwest::header::HeaderValue::from_str(t).is_ok());
        let headers: Vec<(&str, &str)> = tag
            .iter()
            .map(|t| (reqwest::header::IF_NONE_MATCH.as_str(), t.as_str()))
            .collect();
        let response = self
            .dispatch(Method::GET, "/v1/catalog", None, &headers)
            .await?;
        if response.status() == StatusCode::NOT_MODIFIED {
            return if tag.is_some() {
                Ok(CatalogAnswer::Unchanged)
            } else {
                Err(LinkError::BadAnswer(
                    "304 Not Modified to an unconditional catalog request".into(),
                ))
            };
        }
        if !response.status().is_success() {
            return Err(Self::refused(response).await);
        }
        let catalog: Catalog = Self::json(response).await?;
        catalog
            .validate()
            .map_err(|e| LinkError::BadAnswer(format!("catalog {}: {e}", catalog.version)))?;
        Ok(CatalogAnswer::Changed(catalog))
    }

    /// `POST /v1/applications` with its idempotency key, the body sealed to the platform's
    /// key (the platform refuses plain ones).
    pub async fn submit(
        &self,
        key: &str,
        request: &ApplicationRequest,
    ) -> Result<ApplicationReceipt, LinkError> {
        let platform = self
            .sealing_key()
            .and_then(|hex| kiosk_protocol::sealing::parse_sealing_key(&hex).ok())
            .ok_or_else(|| LinkError::BadAnswer("the platform gave no sealing key".into()))?;
        let plain = zeroize::Zeroizing::new(Self::body(request)?);
        let body = kiosk_protocol::sealing::seal(&platform, &plain)
            .map_err(|e| LinkError::BadAnswer(e.to_string()))?;
        let response = self
            .send_typed(
                Method::POST,
                "/v1/applications",
                Some((
                    body,
                    kiosk_protocol::sealing::SEALED_APPLICATION_CONTENT_TYPE,
                )),
                &[(IDEMPOTENCY_KEY_HEADER, key)],
            )
            .await?;
        match response.status() {
            StatusCode::OK | StatusCode::CREATED => Self::json(response).await,
            other => Err(LinkError::BadAnswer(format!("unexpected status {other}"))),
        }
    }

    /// `GET /v1/config`: the terminal's merged configuration (also proves the signature works).
    pub async fn config(&self) -> Result<TerminalConfig, LinkError> {
        Self::json(self.send(Method::GET, "/v1/config", None, &[]).await?).await
    }

    /// `POST /v1/heartbeat`: versions, uptime, device health and outbox depth; the answer
    /// carries the platform's clock and the commands waiting for this terminal.
    ///
    /// Pins the answer announces (the platform's next certificate, before it switches) are
    /// trusted from then on, and kept in the identity file when this link keeps them.
    pub async fn heartbeat(&self, heartbeat: &Heartbeat) -> Result<HeartbeatResponse, LinkError> {
        let body = Self::body(heartbeat)?;
        let answer: HeartbeatResponse = Self::json(
            self.send(Method::POST, "/v1/heartbeat", Some(body), &[])
                .await?,
        )
        .await?;
        self.adopt_pins(&answer.tls_pins);
        Ok(answer)
    }

    fn adopt_pins(&self, announced: &[String]) {
        let announced: Vec<TlsPin> = announced
            .iter()
            .filter_map(|pin| TlsPin::parse(pin).ok())
            .collect();
        if !self.tls.adopt(&announced) {
            return;
        }
        tracing::info!(
            pins = self.tls.pins().len(),
            "the platform announced a TLS pin"
        );
        let Some(dir) = &self.keeps_pins_in else {
            return;
        };
        let kept = TerminalIdentity::load(dir).and_then(|mut identity| {
            identity.tls_pins = self.tls.pins();
            identity.save(dir)
        });
        if let Err(e) = kept {
            tracing::warn!(error = %e, "the announced TLS pin is trusted but not kept on disk");
        }
    }

    /// `POST /v1/applications` with a body already encoded (a sealed one from the outbox).
    pub async fn submit_raw(
        &self,
        key: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<ApplicationReceipt, LinkError> {
        let response = self
            .send_typed(
                Method::POST,
                "/v1/applications",
                Some((body, content_type)),
                &[(IDEMPOTENCY_KEY_HEADER, key)],
            )
            .await?;
        Self::json(response).await
    }

    /// `POST /v1/events` with a body already encoded as JSON.
    pub async fn event_raw(&self, body: Vec<u8>) -> Result<(), LinkError> {
        self.send(Method::POST, "/v1/events", Some(body), &[])
            .await?;
        Ok(())
    }

    /// `POST /v1/ratings` with a body already encoded as JSON.
    pub async fn rate_raw(&self, body: Vec<u8>) -> Result<(), LinkError> {
        self.send(Method::POST, "/v1/ratings", Some(body), &[])
            .await?;
        Ok(())
    }

    /// `POST /v1/commands/{id}/result`.
    pub async fn command_result(&self, id: i64, result: &CommandResult) -> Result<(), LinkError> {
        let body = Self::body(result)?;
        self.send(
            Method::POST,
            &format!("/v1/commands/{id}/result"),
            Some(body),
            &[],
        )
        .await?;
        Ok(())
    }

    /// `POST /v1/updates/reports`: one step of an update, for the rollout that offered it.
    pub async fn update_report(
        &self,
        report: &kiosk_protocol::UpdateReport,
    ) -> Result<(), LinkError> {
        let body = Self::body(report)?;
        self.send(Method::POST, "/v1/updates/reports", Some(body), &[])
            .await?;
        Ok(())
    }

    /// `POST /v1/ratings`.
    pub async fn rate(&self, rating: &RatingRequest) -> Result<(), LinkError> {
        let body = Self::body(rating)?;
        self.send(Method::POST, "/v1/ratings", Some(body), &[])
            .await?;
        Ok(())
    }

    // Materials and certificates.

    /// `POST /v1/applications/{application_no}/materials`: announces a material file.
    pub async fn start_material_upload(
        &self,
        application_no: &str,
        request: &UploadRequest,
    ) -> Result<UploadSession, LinkError> {
        let application_no = path_segment(application_no, "application number")?;
        let body = Self::body(request)?;
        Self::json(
            self.send(
                Method::POST,
                &format!("/v1/applications/{application_no}/materials"),
                Some(body),
                &[],
            )
            .await?,
        )
        .await
    }

    /// `PUT /v1/uploads/{upload_id}/chunks/{n}`: chunk `n` of an upload (again, to replace it).
    pub async fn put_material_chunk(
        &self,
        upload_id: &str,
        n: u64,
        chunk: Vec<u8>,
    ) -> Result<(), LinkError> {
        let upload_id = path_segment(upload_id, "upload id")?;
        self.send_typed(
            Method::PUT,
            &format!("/v1/uploads/{upload_id}/chunks/{n}"),
            Some((chunk, "application/octet-stream")),
            &[],
        )
        .await?;
        Ok(())
    }

    /// `POST /v1/uploads/{upload_id}/complete`: the platform checks and stores the file.
    pub async fn complete_material_upload(
        &self,
        upload_id: &str,
    ) -> Result<UploadedMaterial, LinkError> {
        let upload_id = path_segment(upload_id, "upload id")?;
        Self::json(
            self.send(
                Method::POST,
                &format!("/v1/uploads/{upload_id}/complete"),
                None,
                &[],
            )
            .await?,
        )
        .await
    }

    /// `POST /v1/certificates/{kind}?paper=roll80`: the certificate (e.g.
    /// `application-record`, 办件记录证明) of the applicant in `request`, as a PDF laid out for
    /// the 80 mm receipt roll. The bytes hold the applicant's name and ID number: keep them in
    /// memory only.
    pub async fn certificate(
        &self,
        kind: &str,
        request: &CertificateRequest,
    ) -> Result<Vec<u8>, LinkError> {
        let kind = path_segment(kind, "certificate kind")?;
        let body = Self::body(request)?;
        let response = self
            .send(
                Method::POST,
                &format!("/v1/certificates/{kind}?paper=roll80"),
                Some(body),
                &[],
            )
            .await?;
        let is_pdf = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/pdf"));
        if !is_pdf {
            return Err(LinkError::BadAnswer(
                "the certificate is not a PDF".to_owned(),
            ));
        }
        let bytes = response.bytes().await.map_err(|e| self.unreachable(e))?;
        Ok(bytes.to_vec())
    }
}

/// `value` when it is safe as one path segment (letters, digits, `-`, `_`), so nothing a
/// platform answer or a caller holds can change the path that is signed and sent.
fn path_segment<'a>(value: &'a str, what: &str) -> Result<&'a str, LinkError> {
    let safe = (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if safe {
        Ok(value)
    } else {
        Err(LinkError::BadAnswer(format!("not a valid {what}")))
    }
}

/// The errands a terminal asks the platform for on a citizen's behalf.
impl PlatformLink {
    /// `POST /v1/tickets`: a queue ticket for a matter.
    pub async fn take_ticket(&self, request: &TicketRequest) -> Result<Ticket, LinkError> {
        let body = Self::body(request)?;
        Self::json(
            self.send(Method::POST, "/v1/tickets", Some(body), &[])
                .await?,
        )
        .await
    }

    /// `POST /v1/appointments/check-in`: today's appointment for a code or a card, and its
    /// ticket.
    pub async fn check_in(&self, request: &CheckInRequest) -> Result<CheckInResponse, LinkError> {
        let body = Self::body(request)?;
        Self::json(
            self.send(Method::POST, "/v1/appointments/check-in", Some(body), &[])
                .await?,
        )
        .await
    }

    /// `POST /v1/applications/{no}/corrections`: opens the application's 补正 at this
    /// terminal for the card holder; answers the materials it may now upload.
    pub async fn open_correction(
        &self,
        application_no: &str,
        request: &CorrectionOpening,
    ) -> Result<CorrectionOpened, LinkError> {
        let application_no = path_segment(application_no, "application number")?;
        let body = Self::body(request)?;
        Self::json(
            self.send(
                Method::POST,
                &format!("/v1/applications/{application_no}/corrections"),
                Some(body),
                &[],
            )
            .await?,
        )
        .await
    }

    /// `POST /v1/applications/{no}/corrections/submit`: answers the 补正 opened here with the
    /// uploads made since.
    pub async fn submit_correction(
        &self,
        application_no: &str,
        request: &CorrectionSubmission,
    ) -> Result<CorrectionAnswered, LinkError> {
        let application_no = path_segment(application_no, "application number")?;
        let body = Self::body(request)?;
        Self::json(
            self.send(
                Method::POST,
                &format!("/v1/applications/{application_no}/corrections/submit"),
                Some(body),
                &[],
            )
            .await?,
        )
        .await
    }

    /// `POST /v1/progress`: the applicant's applications, newest first.
    pub async fn progress(&self, request: &ProgressRequest) -> Result<ProgressResponse, LinkError> {
        let body = Self::body(request)?;
        Self::json(
            self.send(Method::POST, "/v1/progress", Some(body), &[])
                .await?,
        )
        .await
    }
}

/// A fresh request nonce: 16 random bytes as 32 hex digits.
fn fresh_nonce() -> Result<String, LinkError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| LinkError::BadAnswer(format!("no OS random source for a nonce: {e}")))?;
    Ok(kiosk_protocol::auth::hex_encode(&bytes))
}
