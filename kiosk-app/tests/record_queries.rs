//! The terminal's side of citizens' records against the real platform process: what the
//! session sends (the card's number and name) is answered, the number with another name finds
//! nothing, and a terminal asking about more citizens than can stand at it is told plainly
//! that its record queries are suspended (what the errand shows as a refusal, never as "try
//! again").

mod common;

use kiosk_protocol::{ApplicationRequest, ProgressRequest};

const NAME: &str = "周晓燕";
const ID_NUMBER: &str = "320706198802020228";
/// The platform's documented limit of distinct citizens one terminal may ask about an hour.
const CITIZENS_PER_HOUR: u32 = 60;

#[test]
fn records_answer_the_cards_number_and_name_and_a_suspension_is_recognised() {
    let terminal = common::EnrolledTerminal::new("SN-RECORDS-1");
    let (link, tokio) = (&terminal.link, &terminal.tokio);
    let request: ApplicationRequest = serde_json::from_value(serde_json::json!({
        "terminal_id": terminal.terminal_id,
        "matter_id": "lyg-health-0701",
        "applicant": {"name": NAME, "id_number": ID_NUMBER, "document_kind": "resident"},
        "language": "zh"
    }))
    .expect("application");
    tokio
        .block_on(link.submit("records-0001", &request))
        .expect("application taken");
    let ask = |id_number: String, name: &str| {
        tokio.block_on(link.progress(&ProgressRequest {
            id_number,
            name: Some(name.to_owned()),
        }))
    };
    let mine = ask(ID_NUMBER.into(), NAME).expect("progress");
    assert_eq!(mine.applications.len(), 1);
    let other = ask(ID_NUMBER.into(), "王五").expect("progress");
    assert!(other.applications.is_empty());

    // One citizen asked about already; the rest up to the limit are answered, one more is not.
    for n in 1..CITIZENS_PER_HOUR {
        let answer = ask(format!("3207061990{n:08}"), "某人");
        assert!(answer.is_ok(), "citizen {n}: {answer:?}");
    }
    let refused = ask("320706199099999999".into(), "某人").expect_err("suspended");
    assert!(refused.is_record_queries_suspended(), "{refused}");
    assert!(!refused.is_revoked());
}
