//! A 补正 answered at a terminal: the applicant's card opens the application's asked materials
//! to uploads from that terminal (a grant), the uploads made under the grant answer it, and the
//! answer moves the application back to review through [`Store::advance`].
//!
//! Any terminal may be the one: the applicant need not go back to where they applied. What
//! keeps a stranger out is the card (the holder key must be the application's: otherwise the
//! answer an unknown application gets) and the grant (uploads to someone else's application
//! stay refused, and only for the materials the department asked).

use kiosk_protocol::ApplicationState;

use super::sql::args;
use super::{Advanced, LifeEvent, Scope, Store, StoreError, now_rfc3339};
use crate::lifecycle::{Actor, Change};

/// Why a 补正 cannot be opened or answered at this terminal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CorrectionRefusal {
    /// The application is not waiting for a 补正 (it is in another state).
    #[error("the application is not waiting for materials (it is {0})")]
    NotAsked(&'static str),
    /// The 补正 asks for answers of the form, which are corrected at a service window.
    #[error("this 补正 asks for corrected answers: they are handed in at a service window")]
    AtWindow,
    /// This terminal has no open 补正 for the application (never opened, or submitted).
    #[error("no 补正 is open for this application at this terminal")]
    NotOpen,
    /// The material is not one the department asked for.
    #[error("material {0} is not asked for in this 补正")]
    MaterialNotAsked(u16),
    /// An upload id is not one made at this terminal for this 补正.
    #[error("upload {0} was not made at this terminal for this 补正")]
    UnknownUpload(usize),
    /// An upload has not been completed.
    #[error("upload {0} is not complete")]
    UploadIncomplete(usize),
    /// Asked materials without a completed upload.
    #[error("no upload for the asked materials {0:?}")]
    MaterialsMissing(Vec<u16>),
}

impl CorrectionRefusal {
    /// The stable code answered to the terminal.
    pub fn code(&self) -> &'static str {
        match self {
            CorrectionRefusal::NotAsked(_) => "no_correction_asked",
            CorrectionRefusal::AtWindow => "correction_at_window",
            CorrectionRefusal::NotOpen => "correction_not_open",
            CorrectionRefusal::MaterialNotAsked(_) => "material_not_asked",
            CorrectionRefusal::UnknownUpload(_) => "unknown_upload",
            CorrectionRefusal::UploadIncomplete(_) => "upload_incomplete",
            CorrectionRefusal::MaterialsMissing(_) => "materials_missing",
        }
    }

    /// True when the request itself names something wrong (422); otherwise the application or
    /// the grant is not in a state for it (409).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            CorrectionRefusal::MaterialNotAsked(_)
                | CorrectionRefusal::UnknownUpload(_)
                | CorrectionRefusal::MaterialsMissing(_)
        )
    }
}

/// A 补正 opened at a terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrectionGrant {
    /// Its id (uploads made under it carry it).
    pub id: i64,
    /// The application's matter.
    pub matter_id: String,
    /// The materials asked for, by index.
    pub materials: Vec<u16>,
}

/// Which materials a terminal may upload for an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadScope {
    /// The application's matter.
    pub matter_id: String,
    /// Under an open 补正: its grant, and only the asked materials. `None`: the terminal took
    /// the application and sends its materials.
    pub grant: Option<CorrectionGrant>,
}

impl UploadScope {
    /// Refuses a material the scope does not cover.
    pub fn admits(&self, material_index: u16) -> Result<(), StoreError> {
        match &self.grant {
            Some(grant) if !grant.materials.contains(&material_index) => Err(
                StoreError::Correction(CorrectionRefusal::MaterialNotAsked(material_index)),
            ),
            _ => Ok(()),
        }
    }
}

fn materials_text(materials: &[u16]) -> String {
    materials
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn parse_materials(text: &str) -> Vec<u16> {
    text.split(',').filter_map(|m| m.parse().ok()).collect()
}

impl Store {
    /// The application's state and matter, if `holder_key` is its applicant's; the answer for
    /// another card is the one for no application.
    async fn applicant_application(
        &self,
        application_no: &str,
        holder_key: &str,
    ) -> Result<(ApplicationState, String), StoreError> {
        let row = self
            .row(
                "SELECT state, matter_id, COALESCE(holder_key, '') FROM applications
                 WHERE application_no = $1 AND purged_at IS NULL",
                args![application_no],
            )
            .await?
            .ok_or(StoreError::UnknownApplication)?;
        let holder = row.text(2)?;
        if !crate::keys::same_secret(holder.as_bytes(), holder_key.as_bytes()) {
            return Err(StoreError::UnknownApplication);
        }
        let state = ApplicationState::parse(&row.text(0)?)
            .ok_or_else(|| StoreError::Task("an application has an unknown state".into()))?;
        Ok((state, row.text(1)?))
    }

    /// Opens the application's 补正 for uploads from `terminal_id`, for the applicant whose
    /// card gave `holder_key`. An earlier grant of the same terminal is closed (its uploads no
    /// longer answer); one at another terminal stays, so a citizen who walks away from one
    /// terminal can finish at the next.
    pub async fn open_correction(
        &self,
        application_no: &str,
        terminal_id: &str,
        holder_key: &str,
    ) -> Result<CorrectionGrant, StoreError> {
        let (state, matter_id) = self
            .applicant_application(application_no, holder_key)
            .await?;
        if state != ApplicationState::NeedsMaterials {
            return Err(StoreError::Correction(CorrectionRefusal::NotAsked(
                state.as_str(),
            )));
        }
        let asked = self
            .life_of(application_no)
            .await?
            .iter()
            .rev()
            .find_map(LifeEvent::correction)
            .ok_or(StoreError::Correction(CorrectionRefusal::NotAsked(
                state.as_str(),
            )))?;
        if !asked.fields.is_empty() || asked.materials.is_empty() {
            return Err(StoreError::Correction(CorrectionRefusal::AtWindow));
        }
        let now = now_rfc3339();
        self.exec(
            "UPDATE correction_grants SET closed_at = $3
              WHERE application_no = $1 AND terminal_id = $2 AND closed_at IS NULL",
            args![application_no, terminal_id, &now],
        )
        .await?;
        let id = self
            .row(
                "INSERT INTO correction_grants (application_no, terminal_id, materials, opened_at)
                 VALUES ($1, $2, $3, $4) RETURNING id",
                args![
                    application_no,
                    terminal_id,
                    materials_text(&asked.materials),
                    &now
                ],
            )
            .await?
            .ok_or_else(|| StoreError::Task("no grant id".into()))?
            .int(0)?;
        Ok(CorrectionGrant {
            id,
            matter_id,
            materials: asked.materials,
        })
    }

    /// The open 补正 of this terminal for the application, while the application still waits
    /// for it.
    async fn open_grant(
        &self,
        application_no: &str,
        terminal_id: &str,
    ) -> Result<Option<CorrectionGrant>, StoreError> {
        let row = self
            .row(
                "SELECT g.id, a.matter_id, g.materials FROM correction_grants g
                   JOIN applications a ON a.application_no = g.application_no
                  WHERE g.application_no = $1 AND g.terminal_id = $2 AND g.closed_at IS NULL
                    AND a.state = 'needs_materials' AND a.purged_at IS NULL
                  ORDER BY g.id DESC LIMIT 1",
                args![application_no, terminal_id],
            )
            .await?;
        row.map(|r| {
            Ok(CorrectionGrant {
                id: r.int(0)?,
                matter_id: r.text(1)?,
                materials: parse_materials(&r.text(2)?),
            })
        })
        .transpose()
    }

    /// What `terminal_id` may upload for the application: the asked materials under its open
    /// 补正, else any material of an application it took; `None` for anything else.
    pub async fn upload_scope(
        &self,
        terminal_id: &str,
        application_no: &str,
    ) -> Result<Option<UploadScope>, StoreError> {
        if let Some(grant) = self.open_grant(application_no, terminal_id).await? {
            return Ok(Some(UploadScope {
                matter_id: grant.matter_id.clone(),
                grant: Some(grant),
            }));
        }
        Ok(self
            .application_matter(terminal_id, application_no)
            .await?
            .map(|matter_id| UploadScope {
                matter_id,
                grant: None,
            }))
    }

    /// Answers the 补正 opened at `terminal_id` with `uploads` (made there under its grant,
    /// complete, each of an asked material, every asked material covered), for the applicant
    /// whose card gave `holder_key`: the application goes back to review and the grant closes.
    /// Refused with nothing changed otherwise.
    pub async fn answer_correction(
        &self,
        application_no: &str,
        terminal_id: &str,
        holder_key: &str,
        uploads: &[String],
    ) -> Result<Advanced, StoreError> {
        let refused = |r| Err(StoreError::Correction(r));
        let (state, _) = self
            .applicant_application(application_no, holder_key)
            .await?;
        let Some(grant) = self.open_grant(application_no, terminal_id).await? else {
            return if state == ApplicationState::NeedsMaterials {
                refused(CorrectionRefusal::NotOpen)
            } else {
                refused(CorrectionRefusal::NotAsked(state.as_str()))
            };
        };
        let mut covered = Vec::new();
        for (i, id) in uploads.iter().enumerate() {
            let row = self
                .row(
                    "SELECT material_index, completed_at FROM uploads
                      WHERE id = $1 AND terminal_id = $2 AND application_no = $3 AND correction_grant = $4",
                    args![id.as_str(), terminal_id, application_no, grant.id],
                )
                .await?;
            let Some(row) = row else {
                return refused(CorrectionRefusal::UnknownUpload(i));
            };
            if row.opt_text(1)?.is_none() {
                return refused(CorrectionRefusal::UploadIncomplete(i));
            }
            covered.push(u16::try_from(row.int(0)?).unwrap_or(u16::MAX));
        }
        let missing: Vec<u16> = grant
            .materials
            .iter()
            .copied()
            .filter(|m| !covered.contains(m))
            .collect();
        if !missing.is_empty() {
            return refused(CorrectionRefusal::MaterialsMissing(missing));
        }
        let advanced = self
            .advance(
                application_no,
                Scope::Applicant,
                Actor::Terminal(terminal_id.to_owned()),
                Change::AnswerCorrection,
            )
            .await?;
        self.exec(
            "UPDATE correction_grants SET closed_at = $2 WHERE id = $1",
            args![grant.id, &advanced.at],
        )
        .await?;
        Ok(advanced)
    }
}
