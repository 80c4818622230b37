//! The terminal's HTTP link to the central platform.

use std::sync::Arc;
use std::time::Duration;

use kiosk_protocol::{
    ApiError, ApplicationReceipt, ApplicationRequest, Catalog, CertificateRequest, CheckInRequest,
    CheckInResponse, CommandResult, EnrollRequest, EnrollResponse, Health, Heartbeat,
    HeartbeatResponse, IDEMPOTENCY_KEY_HEADER, ProgressRequest, ProgressResponse, RatingRequest,
    SignedContent, TerminalConfig, Ticket, TicketRequest, UploadRequest, UploadSession,
    UploadedMaterial, sign_request_v2,
};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::KioskConfig;
use crate::unix_now;
use crate::uplink::identity::TerminalIdentity;

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
}

/// The platform's code for a terminal an operator revoked (on every signed request).
pub const TERMINAL_REVOKED: &str = "terminal_revoked";

impl LinkError {
    /// True when retrying later may succeed. A revoked terminal counts: an operator may
    /// restore it, and what it holds (the outbox, update reports) must wait for that rather
    /// than be set aside as refused.
    pub fn is_transient(&self) -> bool {
        match self {
            LinkError::Unreachable { .. } => true,
            LinkError::Refused { status, .. } => {
                *status >= 500 || *status == 429 || self.is_revoked()
            }
            LinkError::BadAnswer(_) => false,
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
    http: reqwest::Client,
    identity: Option<Arc<TerminalIdentity>>,
}

impl PlatformLink {
    /// A link to the platform at `base` (e.g. `http://127.0.0.1:8080`), not yet signing.
    pub fn new(base: &str, timeout: Duration) -> Result<Self, LinkError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("lianyibao-kiosk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| LinkError::Unreachable {
                url: base.to_owned(),
                detail: e.to_string(),
            })?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
            identity: None,
        })
    }

    /// A link to the platform `identity` enrolled with, signing every request with its key.
    pub fn enrolled(identity: Arc<TerminalIdentity>, timeout: Duration) -> Result<Self, LinkError> {
        let mut link = Self::new(&identity.platform, timeout)?;
        link.identity = Some(identity);
        Ok(link)
    }

    /// The signed link of an enrolled terminal, towards the platform `config` names (when it
    /// has moved since enrollment) or the one the terminal enrolled with.
    pub fn configured(config: &KioskConfig, identity: TerminalIdentity) -> Result<Self, LinkError> {
        let url = config
            .platform_url(Some(&identity.platform))
            .unwrap_or_default();
        let mut link = Self::enrolled(Arc::new(identity), config.platform_timeout())?;
        if url != link.base() {
            link = link.towards(&url);
        }
        Ok(link)
    }

    /// The same link pointed at another base URL (the platform has moved).
    pub fn towards(mut self, base: &str) -> Self {
        self.base = base.trim_end_matches('/').to_owned();
        self
    }

    /// The platform's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The platform's key applications are sealed to, as enrollment gave it.
    pub fn sealing_key(&self) -> Option<&str> {
        self.identity
            .as_deref()
            .and_then(|i| i.sealing_key.as_deref())
    }

    /// The terminal id requests are signed as, once enrolled.
    pub fn terminal_id(&self) -> Option<&str> {
        self.identity.as_deref().map(|i| i.terminal_id.as_str())
    }

    fn unreachable(&self, e: reqwest::Error) -> LinkError {
        LinkError::Unreachable {
            url: self.base.clone(),
            detail: e.to_string(),
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
        let response = request.send().await.map_err(|e| self.unreachable(e))?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(Self::refused(response).await)
        }
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
        let catalog: Catalog =
            Self::json(self.send(Method::GET, "/v1/catalog", None, &[]).await?).await?;
        catalog
            .validate()
            .map_err(|e| LinkError::BadAnswer(format!("catalog {}: {e}", catalog.version)))?;
        Ok(catalog)
    }

    /// `POST /v1/applications` with its idempotency key.
    pub async fn submit(
        &self,
        key: &str,
        request: &ApplicationRequest,
    ) -> Result<ApplicationReceipt, LinkError> {
        let body = Self::body(request)?;
        let response = self
            .send(
                Method::POST,
                "/v1/applications",
                Some(body),
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
    pub async fn heartbeat(&self, heartbeat: &Heartbeat) -> Result<HeartbeatResponse, LinkError> {
        let body = Self::body(heartbeat)?;
        Self::json(
            self.send(Method::POST, "/v1/heartbeat", Some(body), &[])
                .await?,
        )
        .await
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
