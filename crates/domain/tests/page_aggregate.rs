//! Given/when/then tests of the `Page` aggregate: every command path and every content rule.

use cqrs_es::test::TestFramework;
use time::OffsetDateTime;
use time::macros::datetime;
use valentine_domain::content::{MESSAGE_MAX, NAME_MAX, TITLE_MAX};
use valentine_domain::report::REPORTS_MAX;
use valentine_domain::{
    AnswerPage, CreatePage, DeletePage, EditToken, ErasePage, ErasedBy, Field, ModeratePage,
    NotificationsSet, NotifyChange, OpenPage, Page, PageAnswered, PageCommand, PageCreated, PageDeleted,
    PageErased, PageError, PageEvent, PageExtras, PageModerated, PageOpened, PageReported, PageRules,
    PageUpdated, PhotoRef, PhotoSet, PinHash, Reply, ReportPage, ReportReason, RevealInput, SetPhoto, Slug,
    TemplateId, Unsubscribe, UpdatePage, Violation,
};

/// The clock reading every command of these tests is judged against.
const NOW: OffsetDateTime = datetime!(2027-02-13 20:00 UTC);

type PageTest = TestFramework<Page>;

fn token() -> EditToken {
    EditToken::from_random_bytes([42; 32])
}

fn other_token() -> EditToken {
    EditToken::from_random_bytes([43; 32])
}

fn create(slug: &str) -> CreatePage {
    CreatePage {
        slug: Slug::parse(slug).expect("valid slug"),
        title: "Be mine".to_owned(),
        message: "Every day with you".to_owned(),
        sender_name: Some("Sam".to_owned()),
        recipient_name: Some("Alex".to_owned()),
        template_id: Some("proposal".to_owned()),
        edit_token_hash: token().hash(),
        notify: None,
        extras: PageExtras::default(),
    }
}

fn created(slug: &str) -> PageEvent {
    PageEvent::PageCreated(PageCreated {
        slug: slug.to_owned(),
        title: "Be mine".to_owned(),
        message: "Every day with you".to_owned(),
        sender_name: Some("Sam".to_owned()),
        recipient_name: Some("Alex".to_owned()),
        template_id: TemplateId::Proposal,
        edit_token_hash: token().hash(),
        song_url: None,
        reveal_at: None,
        pin_hash: None,
    })
}

fn deleted() -> PageEvent {
    PageEvent::PageDeleted(PageDeleted {})
}

fn erased_by_author() -> PageEvent {
    PageEvent::PageErased(PageErased { by: ErasedBy::Author, reason: None, erased: Vec::new() })
}

fn erase(reason: &str) -> PageCommand {
    PageCommand::Erase(ErasePage { reason: reason.to_owned(), erasing: Vec::new() })
}

fn update(edit: impl FnOnce(&mut UpdatePage)) -> PageCommand {
    let mut cmd = UpdatePage::with_token(token());
    edit(&mut cmd);
    PageCommand::Update(cmd)
}

fn invalid(violations: &[Violation]) -> impl Fn(PageError) {
    let expected = violations.to_vec();
    move |err| match err {
        PageError::Invalid(found) => assert_eq!(found.as_slice(), expected.as_slice()),
        other => panic!("expected Invalid({expected:?}), got {other:?}"),
    }
}

fn expect_invalid(given: Vec<PageEvent>, cmd: PageCommand, violations: &[Violation]) {
    let result = PageTest::with(PageRules::default()).given(given).when(cmd).inspect_result();
    invalid(violations)(result.expect_err("the command must be refused"));
}

// --- CreatePage -----------------------------------------------------------------------------

#[test]
fn create_at_a_free_slug_records_the_page_in_the_authors_casing() {
    PageTest::with(PageRules::default())
        .given_no_previous_events()
        .when(PageCommand::Create(create("AliceAndBob")))
        .then_expect_events(vec![created("AliceAndBob")]);
}

#[test]
fn create_trims_text_drops_blank_names_and_defaults_to_classic() {
    let cmd = CreatePage {
        title: "  Be mine \n".to_owned(),
        message: "\tEvery day with you  ".to_owned(),
        sender_name: Some("   ".to_owned()),
        recipient_name: None,
        template_id: None,
        ..create("alice")
    };
    PageTest::with(PageRules::default())
        .given_no_previous_events()
        .when(PageCommand::Create(cmd))
        .then_expect_events(vec![PageEvent::PageCreated(PageCreated {
            slug: "alice".to_owned(),
            title: "Be mine".to_owned(),
            message: "Every day with you".to_owned(),
            sender_name: None,
            recipient_name: None,
            template_id: TemplateId::Classic,
            edit_token_hash: token().hash(),
            song_url: None,
            reveal_at: None,
            pin_hash: None,
        })]);
}

#[test]
fn create_accepts_each_of_the_eight_templates() {
    for template in valentine_domain::TEMPLATES {
        let cmd = CreatePage { template_id: Some(template.id.as_str().to_owned()), ..create("alice") };
        let events = PageTest::with(PageRules::default())
            .given_no_previous_events()
            .when(PageCommand::Create(cmd))
            .inspect_result();
        match events.expect("accepted").as_slice() {
            [PageEvent::PageCreated(e)] => assert_eq!(e.template_id, template.id),
            other => panic!("unexpected events {other:?}"),
        }
    }
}

#[test]
fn create_rejects_an_unknown_template_instead_of_defaulting() {
    for bad in ["rainbow", "", "Classic", "classic "] {
        let cmd = CreatePage { template_id: Some(bad.to_owned()), ..create("alice") };
        expect_invalid(vec![], PageCommand::Create(cmd), &[Violation::UnknownTemplate]);
    }
}

#[test]
fn create_requires_a_title_and_a_message_that_are_not_blank() {
    let cmd = CreatePage { title: " \n ".to_owned(), message: String::new(), ..create("alice") };
    expect_invalid(
        vec![],
        PageCommand::Create(cmd),
        &[Violation::Missing(Field::Title), Violation::Missing(Field::Message)],
    );
}

#[test]
fn create_enforces_every_length_limit_in_characters_at_its_boundary() {
    // At the limit, in multi-byte characters: accepted.
    let at_limit = CreatePage {
        title: "é".repeat(TITLE_MAX),
        message: "❤".repeat(MESSAGE_MAX),
        sender_name: Some("名".repeat(NAME_MAX)),
        recipient_name: Some("😀".repeat(NAME_MAX)),
        ..create("alice")
    };
    let events = PageTest::with(PageRules::default())
        .given_no_previous_events()
        .when(PageCommand::Create(at_limit))
        .inspect_result();
    assert!(events.is_ok(), "{events:?}");

    // One more character each: every violation is reported at once, in field order.
    let over = CreatePage {
        title: "é".repeat(TITLE_MAX + 1),
        message: "❤".repeat(MESSAGE_MAX + 1),
        sender_name: Some("名".repeat(NAME_MAX + 1)),
        recipient_name: Some("😀".repeat(NAME_MAX + 1)),
        template_id: Some("nope".to_owned()),
        ..create("alice")
    };
    expect_invalid(
        vec![],
        PageCommand::Create(over),
        &[
            Violation::TooLong { field: Field::Title, max: TITLE_MAX },
            Violation::TooLong { field: Field::Message, max: MESSAGE_MAX },
            Violation::TooLong { field: Field::SenderName, max: NAME_MAX },
            Violation::TooLong { field: Field::RecipientName, max: NAME_MAX },
            Violation::UnknownTemplate,
        ],
    );
}

#[test]
fn limits_count_the_text_as_sent_and_what_is_kept_is_trimmed() {
    let padded = CreatePage { title: format!("  {}  ", "t".repeat(TITLE_MAX - 4)), ..create("alice") };
    let events = PageTest::with(PageRules::default())
        .given_no_previous_events()
        .when(PageCommand::Create(padded))
        .inspect_result();
    assert!(events.is_ok(), "{events:?}");
    // The OpenAPI document's maxLength counts the blanks around the text; so does the rule.
    let over = CreatePage { title: format!(" {}", "t".repeat(TITLE_MAX)), ..create("alice") };
    let refused = PageTest::with(PageRules::default())
        .given_no_previous_events()
        .when(PageCommand::Create(over))
        .inspect_result();
    assert!(refused.is_err(), "{refused:?}");
}

#[test]
fn create_at_a_live_slug_is_refused_in_any_casing() {
    PageTest::with(PageRules::default())
        .given(vec![created("alice")])
        .when(PageCommand::Create(create("ALICE")))
        .then_expect_error(PageError::SlugTaken);
}

#[test]
fn a_deleted_pages_slug_can_be_created_again_as_a_new_page() {
    let fresh = CreatePage { edit_token_hash: other_token().hash(), ..create("Alice") };
    let events = PageTest::with(PageRules::default())
        .given(vec![created("alice"), deleted()])
        .when(PageCommand::Create(fresh))
        .inspect_result()
        .expect("the slug is free again");
    match events.as_slice() {
        [PageEvent::PageCreated(e)] => {
            assert_eq!(e.slug, "Alice");
            assert_eq!(e.edit_token_hash, other_token().hash());
        }
        other => panic!("unexpected events {other:?}"),
    }
}

#[test]
fn the_event_holds_only_a_hash_of_the_token() {
    let events = PageTest::with(PageRules::default())
        .given_no_previous_events()
        .when(PageCommand::Create(create("alice")))
        .inspect_result()
        .expect("accepted");
    let json = serde_json::to_string(&events).expect("serializes");
    assert!(!json.contains(token().expose()));
    assert!(json.contains(&token().hash().to_hex()));
}

// --- UpdatePage -----------------------------------------------------------------------------

#[test]
fn update_records_only_the_fields_that_change() {
    PageTest::with(PageRules::default())
        .given(vec![created("alice")])
        .when(update(|u| {
            u.title = Some(" Still mine ".to_owned());
            u.message = Some("Every day with you".to_owned()); // unchanged
            u.template_id = Some("countdown".to_owned());
        }))
        .then_expect_events(vec![PageEvent::PageUpdated(PageUpdated {
            title: Some("Still mine".to_owned()),
            template_id: Some(TemplateId::Countdown),
            ..PageUpdated::default()
        })]);
}

#[test]
fn update_that_changes_nothing_records_nothing() {
    PageTest::with(PageRules::default())
        .given(vec![created("alice")])
        .when(update(|_| {}))
        .then_expect_events(vec![]);
    PageTest::with(PageRules::default())
        .given(vec![created("alice")])
        .when(update(|u| u.title = Some("Be mine".to_owned())))
        .then_expect_events(vec![]);
}

#[test]
fn update_with_a_blank_name_removes_it() {
    PageTest::with(PageRules::default())
        .given(vec![created("alice")])
        .when(update(|u| {
            u.sender_name = Some("  ".to_owned());
            u.recipient_name = Some(" Jo ".to_owned());
        }))
        .then_expect_events(vec![PageEvent::PageUpdated(PageUpdated {
            sender_name: Some(None),
            recipient_name: Some(Some("Jo".to_owned())),
            ..PageUpdated::default()
        })]);
}

#[test]
fn update_cannot_blank_a_required_field_or_break_a_limit() {
    expect_invalid(
        vec![created("alice")],
        update(|u| {
            u.title = Some("   ".to_owned());
            u.message = Some("m".repeat(MESSAGE_MAX + 1));
            u.sender_name = Some("s".repeat(NAME_MAX + 1));
            u.template_id = Some("rainbow".to_owned());
        }),
        &[
            Violation::Missing(Field::Title),
            Violation::TooLong { field: Field::Message, max: MESSAGE_MAX },
            Violation::TooLong { field: Field::SenderName, max: NAME_MAX },
            Violation::UnknownTemplate,
        ],
    );
}

#[test]
fn update_needs_the_pages_own_token_before_anything_else_is_checked() {
    let mut cmd = UpdatePage::with_token(other_token());
    cmd.title = Some(String::new()); // invalid too, but the token is checked first
    PageTest::with(PageRules::default())
        .given(vec![created("alice")])
        .when(PageCommand::Update(cmd))
        .then_expect_error(PageError::WrongEditToken);
}

#[test]
fn update_of_a_page_that_never_existed_or_was_deleted_is_not_found() {
    PageTest::with(PageRules::default())
        .given_no_previous_events()
        .when(update(|u| u.title = Some("x".to_owned())))
        .then_expect_error(PageError::NotFound);
    PageTest::with(PageRules::default())
        .given(vec![created("alice"), deleted()])
        .when(update(|u| u.title = Some("x".to_owned())))
        .then_expect_error(PageError::NotFound);
}

#[test]
fn updates_fold_into_the_state_in_order() {
    let first =
        PageEvent::PageUpdated(PageUpdated { title: Some("One".to_owned()), ..PageUpdated::default() });
    let second = PageEvent::PageUpdated(PageUpdated { sender_name: Some(None), ..PageUpdated::default() });
    // Setting the title back to "One" and the sender back to none changes nothing.
    PageTest::with(PageRules::default())
        .given(vec![created("alice"), first, second])
        .when(update(|u| {
            u.title = Some("One".to_owned());
            u.sender_name = Some(String::new());
        }))
        .then_expect_events(vec![]);
}

// --- DeletePage -----------------------------------------------------------------------------

#[test]
fn delete_with_the_token_records_the_deletion() {
    PageTest::with(PageRules::default())
        .given(vec![created("alice")])
        .when(PageCommand::Delete(DeletePage { edit_token: token(), erasing: Vec::new() }))
        .then_expect_events(vec![erased_by_author()]);
}

#[test]
fn delete_with_another_token_is_refused() {
    PageTest::with(PageRules::default())
        .given(vec![created("alice")])
        .when(PageCommand::Delete(DeletePage { edit_token: other_token(), erasing: Vec::new() }))
        .then_expect_error(PageError::WrongEditToken);
}

#[test]
fn delete_of_a_missing_or_deleted_page_is_not_found() {
    PageTest::with(PageRules::default())
        .given_no_previous_events()
        .when(PageCommand::Delete(DeletePage { edit_token: token(), erasing: Vec::new() }))
        .then_expect_error(PageError::NotFound);
    PageTest::with(PageRules::default())
        .given(vec![created("alice"), deleted()])
        .when(PageCommand::Delete(DeletePage { edit_token: token(), erasing: Vec::new() }))
        .then_expect_error(PageError::NotFound);
}

#[test]
fn an_earlier_pages_token_has_no_power_over_a_new_page_at_the_same_slug() {
    let recreated = PageEvent::PageCreated(PageCreated {
        edit_token_hash: other_token().hash(),
        ..match created("alice") {
            PageEvent::PageCreated(e) => e,
            _ => unreachable!(),
        }
    });
    PageTest::with(PageRules::default())
        .given(vec![created("alice"), deleted(), recreated])
        .when(PageCommand::Delete(DeletePage { edit_token: token(), erasing: Vec::new() }))
        .then_expect_error(PageError::WrongEditToken);
}

#[test]
fn a_page_takes_changes_up_to_its_limit_then_only_deletion() {
    let rules = PageRules { max_events: 3 };
    let retitled = |title: &str| {
        PageEvent::PageUpdated(PageUpdated { title: Some(title.to_owned()), ..PageUpdated::default() })
    };
    let retitle = |title: &'static str| update(move |c| c.title = Some(title.to_owned()));
    // Creation and one change: a third event is allowed.
    PageTest::with(rules)
        .given(vec![created("alice"), retitled("One")])
        .when(retitle("Two"))
        .then_expect_events(vec![retitled("Two")]);
    // Three events: the limit.
    PageTest::with(rules)
        .given(vec![created("alice"), retitled("One"), retitled("Two")])
        .when(retitle("Three"))
        .then_expect_error(PageError::TooManyChanges { limit: 3 });
    PageTest::with(rules)
        .given(vec![created("alice"), retitled("One"), retitled("Two")])
        .when(PageCommand::Delete(DeletePage { edit_token: token(), erasing: Vec::new() }))
        .then_expect_events(vec![erased_by_author()]);
    // A new life at the same slug starts counting again.
    PageTest::with(rules)
        .given(vec![created("alice"), retitled("One"), retitled("Two"), deleted(), created("alice")])
        .when(retitle("Again"))
        .then_expect_events(vec![retitled("Again")]);
}

#[test]
fn an_operator_erases_a_live_page_without_its_token_and_says_why() {
    PageTest::with(PageRules::default())
        .given(vec![created("alice")])
        .when(erase("  request 2026-114  "))
        .then_expect_events(vec![PageEvent::PageErased(PageErased {
            by: ErasedBy::Operator,
            reason: Some("request 2026-114".to_owned()),
            erased: Vec::new(),
        })]);
}

#[test]
fn an_operator_erases_pages_deleted_before_deletion_erased() {
    PageTest::with(PageRules::default())
        .given(vec![created("alice"), deleted()])
        .when(erase(""))
        .then_expect_events(vec![PageEvent::PageErased(PageErased {
            by: ErasedBy::Operator,
            reason: None,
            erased: Vec::new(),
        })]);
}

#[test]
fn there_is_nothing_to_erase_on_an_erased_or_unused_slug() {
    PageTest::with(PageRules::default())
        .given(vec![created("alice"), erased_by_author()])
        .when(erase("again"))
        .then_expect_error(PageError::NotFound);
    PageTest::with(PageRules::default())
        .given_no_previous_events()
        .when(erase("x"))
        .then_expect_error(PageError::NotFound);
}

#[test]
fn an_erased_slug_is_free_and_its_page_gone() {
    PageTest::with(PageRules::default())
        .given(vec![created("alice"), erased_by_author()])
        .when(PageCommand::Create(create("alice")))
        .then_expect_events(vec![created("alice")]);
    PageTest::with(PageRules::default())
        .given(vec![created("alice"), erased_by_author()])
        .when(PageCommand::Delete(DeletePage { edit_token: token(), erasing: Vec::new() }))
        .then_expect_error(PageError::NotFound);
}

// --- Opens, replies and notifications ------------------------------------------------------------

fn opened() -> PageEvent {
    PageEvent::PageOpened(PageOpened {})
}

fn answered(answer: Reply, dodges: u32) -> PageEvent {
    PageEvent::PageAnswered(PageAnswered { answer, dodges })
}

fn open_by(presented: Option<EditToken>) -> PageCommand {
    PageCommand::Open(OpenPage { life: token().hash(), presented })
}

fn answer(answer: Reply, dodges: u32) -> PageCommand {
    PageCommand::Answer(AnswerPage { answer, dodges, now: NOW })
}

fn notify(email: &str, key: &str) -> NotifyChange {
    NotifyChange { email: email.to_owned(), unsubscribe_key: key.to_owned() }
}

fn notifications(email: Option<&str>, key: Option<&str>) -> PageEvent {
    PageEvent::NotificationsSet(NotificationsSet {
        email: email.map(str::to_owned),
        unsubscribe_key: key.map(str::to_owned),
    })
}

#[test]
fn the_first_open_by_someone_else_is_recorded_once_and_the_authors_reads_never() {
    PageTest::with(PageRules::default())
        .given(vec![created("mia")])
        .when(open_by(None))
        .then_expect_events(vec![opened()]);
    PageTest::with(PageRules::default())
        .given(vec![created("mia")])
        .when(open_by(Some(token())))
        .then_expect_events(vec![]);
    PageTest::with(PageRules::default())
        .given(vec![created("mia")])
        .when(open_by(Some(other_token())))
        .then_expect_events(vec![opened()]);
    PageTest::with(PageRules::default())
        .given(vec![created("mia"), opened()])
        .when(open_by(None))
        .then_expect_events(vec![]);
    // A read of an earlier life of the slug opens nothing of the new one.
    let stale = PageCommand::Open(OpenPage { life: other_token().hash(), presented: None });
    PageTest::with(PageRules::default()).given(vec![created("mia")]).when(stale).then_expect_events(vec![]);
    PageTest::with(PageRules::default()).given(vec![]).when(open_by(None)).then_expect_events(vec![]);
}

#[test]
fn a_proposal_takes_one_yes_with_its_dodges_and_opens_the_page_if_no_read_did() {
    PageTest::with(PageRules::default())
        .given(vec![created("mia")])
        .when(answer(Reply::Yes, 2))
        .then_expect_events(vec![opened(), answered(Reply::Yes, 2)]);
    PageTest::with(PageRules::default())
        .given(vec![created("mia"), opened()])
        .when(answer(Reply::Yes, 0))
        .then_expect_events(vec![answered(Reply::Yes, 0)]);
    PageTest::with(PageRules::default())
        .given(vec![created("mia"), opened(), answered(Reply::Yes, 1)])
        .when(answer(Reply::Yes, 5))
        .then_expect_error(PageError::AlreadyAnswered);
    PageTest::with(PageRules::default())
        .given(vec![])
        .when(answer(Reply::Yes, 0))
        .then_expect_error(PageError::NotFound);
}

#[test]
fn a_reply_must_fit_the_design_and_only_a_proposal_counts_dodges() {
    let refused = |given: Vec<PageEvent>, cmd: PageCommand| {
        let result = PageTest::with(PageRules::default()).given(given).when(cmd).inspect_result();
        assert!(matches!(result, Err(PageError::BadReply(_))), "{result:?}");
    };
    refused(vec![created("mia")], answer(Reply::Heart, 0));
    refused(vec![created("mia")], answer(Reply::Yes, 10_001));
    let letter = PageEvent::PageUpdated(PageUpdated {
        template_id: Some(TemplateId::Envelope),
        ..PageUpdated::default()
    });
    refused(vec![created("mia"), letter.clone()], answer(Reply::Yes, 0));
    refused(vec![created("mia"), letter.clone()], answer(Reply::Heart, 3));
    PageTest::with(PageRules::default())
        .given(vec![created("mia"), letter])
        .when(answer(Reply::Heart, 0))
        .then_expect_events(vec![opened(), answered(Reply::Heart, 0)]);
}

#[test]
fn an_address_given_at_creation_is_recorded_beside_the_page_and_a_bad_one_refused() {
    let mut cmd = create("mia");
    cmd.notify = Some(notify(" ana@example.com ", "key-1"));
    PageTest::with(PageRules::default())
        .given(vec![])
        .when(PageCommand::Create(cmd))
        .then_expect_events(vec![created("mia"), notifications(Some("ana@example.com"), Some("key-1"))]);
    let mut blank = create("mia");
    blank.notify = Some(notify("  ", "key-1"));
    PageTest::with(PageRules::default())
        .given(vec![])
        .when(PageCommand::Create(blank))
        .then_expect_events(vec![created("mia")]);
    let mut bad = create("mia");
    bad.title = String::new();
    bad.notify = Some(notify("not an address", "key-1"));
    expect_invalid(
        vec![],
        PageCommand::Create(bad),
        &[Violation::Missing(Field::Title), Violation::BadEmail],
    );
}

#[test]
fn the_author_changes_or_removes_the_address_and_an_unchanged_one_records_nothing() {
    let given = || vec![created("mia"), notifications(Some("ana@example.com"), Some("key-1"))];
    PageTest::with(PageRules::default())
        .given(given())
        .when(update(|u| u.notify = Some(notify("ana@example.com", "key-2"))))
        .then_expect_events(vec![]);
    PageTest::with(PageRules::default())
        .given(given())
        .when(update(|u| {
            u.title = Some("New".to_owned());
            u.notify = Some(notify("bo@example.org", "key-2"));
        }))
        .then_expect_events(vec![
            PageEvent::PageUpdated(PageUpdated { title: Some("New".to_owned()), ..PageUpdated::default() }),
            notifications(Some("bo@example.org"), Some("key-2")),
        ]);
    PageTest::with(PageRules::default())
        .given(given())
        .when(update(|u| u.notify = Some(notify("", "key-2"))))
        .then_expect_events(vec![notifications(None, None)]);
}

#[test]
fn an_unsubscribe_link_stops_mails_once_and_keeps_working_and_a_wrong_key_is_refused() {
    let unsubscribe = |key: &str| PageCommand::Unsubscribe(Unsubscribe { key: key.to_owned() });
    let given = vec![created("mia"), notifications(Some("ana@example.com"), Some("key-1"))];
    PageTest::with(PageRules::default())
        .given(given.clone())
        .when(unsubscribe("key-1"))
        .then_expect_events(vec![notifications(None, Some("key-1"))]);
    PageTest::with(PageRules::default())
        .given(vec![
            created("mia"),
            notifications(Some("ana@example.com"), Some("key-1")),
            notifications(None, Some("key-1")),
        ])
        .when(unsubscribe("key-1"))
        .then_expect_events(vec![]);
    PageTest::with(PageRules::default())
        .given(given)
        .when(unsubscribe("key-2"))
        .then_expect_error(PageError::WrongUnsubscribeKey);
    PageTest::with(PageRules::default())
        .given(vec![created("mia")])
        .when(unsubscribe("key-1"))
        .then_expect_error(PageError::WrongUnsubscribeKey);
}

// --- Songs, reveal times, PINs and photos ----------------------------------------------------

fn reveal(raw: &str) -> RevealInput {
    RevealInput { raw: raw.to_owned(), now: NOW }
}

fn with_extras(extras: PageExtras) -> PageCommand {
    PageCommand::Create(CreatePage { extras, ..create("mia") })
}

fn created_with(edit: impl FnOnce(&mut PageCreated)) -> PageEvent {
    let PageEvent::PageCreated(mut e) = created("mia") else { unreachable!("created() makes a creation") };
    edit(&mut e);
    PageEvent::PageCreated(e)
}

fn photo(sha: &str) -> PhotoRef {
    PhotoRef { sha256: sha.to_owned(), content_type: "image/jpeg".to_owned(), width: 4, height: 3, bytes: 10 }
}

#[test]
fn a_page_is_created_with_its_song_reveal_time_and_pin() {
    let extras = PageExtras {
        song_url: Some(" https://youtu.be/dQw4w9WgXcQ?si=share ".to_owned()),
        reveal: Some(reveal("2027-02-14T09:00:00+01:00")),
        pin: Some(Ok(PinHash::new("$argon2id$v=19$x"))),
    };
    PageTest::with(PageRules::default()).given(vec![]).when(with_extras(extras)).then_expect_events(vec![
        created_with(|e| {
            e.song_url = Some("https://www.youtube.com/watch?v=dQw4w9WgXcQ".to_owned());
            e.reveal_at = Some("2027-02-14T08:00:00Z".to_owned());
            e.pin_hash = Some(PinHash::new("$argon2id$v=19$x"));
        }),
    ]);
    // Blank song and reveal time are none.
    let blank = PageExtras { song_url: Some(" ".to_owned()), reveal: Some(reveal("")), pin: None };
    PageTest::with(PageRules::default())
        .given(vec![])
        .when(with_extras(blank))
        .then_expect_events(vec![created("mia")]);
}

#[test]
fn every_broken_rule_of_the_extras_is_reported_with_the_others() {
    let extras = PageExtras {
        song_url: Some("https://example.com/song".to_owned()),
        reveal: Some(reveal("2027-02-13T19:00:00Z")),
        pin: Some(Err(Violation::BadPin)),
    };
    let cmd = PageCommand::Create(CreatePage { title: " ".to_owned(), extras, ..create("mia") });
    expect_invalid(vec![], cmd, &[Violation::Missing(Field::Title), Violation::BadSong, Violation::BadPin]);
    // A time of the right shape that is past or too far is refused once the content is right.
    for (raw, why) in [
        ("2027-02-13T19:00:00Z", "reveal_at must be a time in the future"),
        ("2028-03-01T00:00:00Z", "reveal_at must be within 366 days"),
    ] {
        let extras = PageExtras { reveal: Some(reveal(raw)), ..PageExtras::default() };
        PageTest::with(PageRules::default())
            .given(vec![])
            .when(with_extras(extras))
            .then_expect_error(PageError::RevealOutOfRange(why));
    }
    let bad = PageExtras { reveal: Some(reveal("2027-02-14 09:00")), ..PageExtras::default() };
    expect_invalid(vec![], with_extras(bad), &[Violation::BadRevealAt]);
}

#[test]
fn updates_change_remove_and_keep_the_extras() {
    let waiting = created_with(|e| {
        e.song_url = Some("https://www.youtube.com/watch?v=dQw4w9WgXcQ".to_owned());
        e.reveal_at = Some("2027-02-14T08:00:00Z".to_owned());
        e.pin_hash = Some(PinHash::new("old"));
    });
    PageTest::with(PageRules::default())
        .given(vec![waiting.clone()])
        .when(update(|u| {
            u.song_url = Some(String::new());
            u.reveal = Some(reveal("2027-02-14T10:00:00Z"));
            u.pin = Some(None);
        }))
        .then_expect_events(vec![PageEvent::PageUpdated(PageUpdated {
            song_url: Some(None),
            reveal_at: Some(Some("2027-02-14T10:00:00Z".to_owned())),
            pin_hash: Some(None),
            ..PageUpdated::default()
        })]);
    // The same song in another shape, and no PIN removed when there is none: nothing changes.
    PageTest::with(PageRules::default())
        .given(vec![waiting])
        .when(update(|u| u.song_url = Some("https://youtu.be/dQw4w9WgXcQ".to_owned())))
        .then_expect_events(vec![]);
    PageTest::with(PageRules::default())
        .given(vec![created("mia")])
        .when(update(|u| u.pin = Some(None)))
        .then_expect_events(vec![]);
}

#[test]
fn a_reveal_time_changes_until_it_comes_and_the_page_is_answered_only_after() {
    let passed = created_with(|e| e.reveal_at = Some("2027-02-13T19:59:59Z".to_owned()));
    PageTest::with(PageRules::default())
        .given(vec![passed.clone()])
        .when(update(|u| u.reveal = Some(reveal("2027-03-01T00:00:00Z"))))
        .then_expect_error(PageError::AlreadyRevealed);
    PageTest::with(PageRules::default())
        .given(vec![passed.clone()])
        .when(update(|u| u.reveal = Some(reveal(""))))
        .then_expect_error(PageError::AlreadyRevealed);
    PageTest::with(PageRules::default())
        .given(vec![passed])
        .when(answer(Reply::Yes, 0))
        .then_expect_events(vec![opened(), answered(Reply::Yes, 0)]);
    let waiting = created_with(|e| e.reveal_at = Some("2027-02-13T20:00:01Z".to_owned()));
    PageTest::with(PageRules::default())
        .given(vec![waiting.clone()])
        .when(answer(Reply::Yes, 0))
        .then_expect_error(PageError::NotRevealed);
    PageTest::with(PageRules::default())
        .given(vec![waiting])
        .when(update(|u| u.reveal = Some(reveal(""))))
        .then_expect_events(vec![PageEvent::PageUpdated(PageUpdated {
            reveal_at: Some(None),
            ..PageUpdated::default()
        })]);
}

#[test]
fn a_photo_is_set_replaced_and_removed_by_its_author_only() {
    let set = |photo: Option<PhotoRef>, edit_token: EditToken| {
        PageCommand::SetPhoto(SetPhoto { edit_token, photo })
    };
    PageTest::with(PageRules::default())
        .given(vec![created("mia")])
        .when(set(Some(photo("a")), token()))
        .then_expect_events(vec![PageEvent::PhotoSet(PhotoSet { photo: Some(photo("a")) })]);
    PageTest::with(PageRules::default())
        .given(vec![created("mia"), PageEvent::PhotoSet(PhotoSet { photo: Some(photo("a")) })])
        .when(set(Some(photo("a")), token()))
        .then_expect_events(vec![]);
    PageTest::with(PageRules::default())
        .given(vec![created("mia"), PageEvent::PhotoSet(PhotoSet { photo: Some(photo("a")) })])
        .when(set(None, token()))
        .then_expect_events(vec![PageEvent::PhotoSet(PhotoSet { photo: None })]);
    PageTest::with(PageRules::default())
        .given(vec![created("mia")])
        .when(set(Some(photo("a")), other_token()))
        .then_expect_error(PageError::WrongEditToken);
    PageTest::with(PageRules::default())
        .given(vec![])
        .when(set(None, token()))
        .then_expect_error(PageError::NotFound);
    let rules = PageRules { max_events: 2 };
    PageTest::with(rules)
        .given(vec![created("mia"), PageEvent::PhotoSet(PhotoSet { photo: Some(photo("a")) })])
        .when(set(Some(photo("b")), token()))
        .then_expect_error(PageError::TooManyChanges { limit: 2 });
}

fn report(reason: ReportReason, note: Option<&str>) -> PageCommand {
    PageCommand::Report(ReportPage { reason, note: note.map(str::to_owned) })
}

fn reported() -> PageEvent {
    PageEvent::PageReported(PageReported { reason: ReportReason::Spam, note: None })
}

fn moderation(by: &str, reason: &str) -> ModeratePage {
    ModeratePage { by: by.to_owned(), reason: reason.to_owned() }
}

fn taken_down(reason: &str) -> PageEvent {
    PageEvent::PageTakenDown(PageModerated { by: "ana".to_owned(), reason: reason.to_owned() })
}

#[test]
fn anyone_reports_a_live_page_with_a_trimmed_note_up_to_the_cap() {
    PageTest::with(PageRules::default())
        .given(vec![created("mia")])
        .when(report(ReportReason::Harassment, Some("  mean words  ")))
        .then_expect_events(vec![PageEvent::PageReported(PageReported {
            reason: ReportReason::Harassment,
            note: Some("mean words".to_owned()),
        })]);
    PageTest::with(PageRules::default())
        .given(vec![created("mia")])
        .when(report(ReportReason::Other, Some(&"x".repeat(501))))
        .then_expect_error(PageError::BadModeration("note must be at most 500 characters"));
    PageTest::with(PageRules::default())
        .given(vec![created("mia"), deleted()])
        .when(report(ReportReason::Spam, None))
        .then_expect_error(PageError::NotFound);
    // Reports do not use up the author's changes, and past the cap they add nothing.
    let mut given = vec![created("mia")];
    given.extend((0..REPORTS_MAX).map(|_| reported()));
    PageTest::with(PageRules { max_events: 2 })
        .given(given)
        .when(report(ReportReason::Spam, None))
        .then_expect_events(vec![]);
    PageTest::with(PageRules { max_events: 2 })
        .given(vec![created("mia"), reported(), reported()])
        .when(update(|u| u.title = Some("Still mine".to_owned())))
        .then_expect_events(vec![PageEvent::PageUpdated(PageUpdated {
            title: Some("Still mine".to_owned()),
            ..PageUpdated::default()
        })]);
}

#[test]
fn a_moderator_takes_a_page_down_and_reinstates_it_with_a_reason_each_time() {
    PageTest::with(PageRules::default())
        .given(vec![created("mia"), reported()])
        .when(PageCommand::TakeDown(moderation("ana", "  doxxing, report 12 ")))
        .then_expect_events(vec![PageEvent::PageTakenDown(PageModerated {
            by: "ana".to_owned(),
            reason: "doxxing, report 12".to_owned(),
        })]);
    PageTest::with(PageRules::default())
        .given(vec![created("mia")])
        .when(PageCommand::TakeDown(moderation("ana", "   ")))
        .then_expect_error(PageError::BadModeration("reason is required"));
    PageTest::with(PageRules::default())
        .given(vec![created("mia"), taken_down("spam")])
        .when(PageCommand::TakeDown(moderation("ana", "again")))
        .then_expect_error(PageError::AlreadyTakenDown);
    PageTest::with(PageRules::default())
        .given(vec![created("mia"), taken_down("spam")])
        .when(PageCommand::Reinstate(moderation("bo", "appeal upheld")))
        .then_expect_events(vec![PageEvent::PageReinstated(PageModerated {
            by: "bo".to_owned(),
            reason: "appeal upheld".to_owned(),
        })]);
    PageTest::with(PageRules::default())
        .given(vec![
            created("mia"),
            taken_down("spam"),
            PageEvent::PageReinstated(PageModerated { by: "bo".to_owned(), reason: "appeal".to_owned() }),
        ])
        .when(PageCommand::Reinstate(moderation("bo", "twice")))
        .then_expect_error(PageError::NotTakenDown);
    PageTest::with(PageRules::default())
        .given(vec![])
        .when(PageCommand::TakeDown(moderation("ana", "spam")))
        .then_expect_error(PageError::NotFound);
}

#[test]
fn a_page_taken_down_takes_no_reply_and_no_more_reports_but_its_author_still_edits_it() {
    PageTest::with(PageRules::default())
        .given(vec![created("mia"), taken_down("spam")])
        .when(answer(Reply::Yes, 0))
        .then_expect_error(PageError::TakenDown);
    PageTest::with(PageRules::default())
        .given(vec![created("mia"), taken_down("spam")])
        .when(report(ReportReason::Spam, None))
        .then_expect_events(vec![]);
    PageTest::with(PageRules::default())
        .given(vec![created("mia"), taken_down("spam")])
        .when(update(|u| u.message = Some("Kinder words".to_owned())))
        .then_expect_events(vec![PageEvent::PageUpdated(PageUpdated {
            message: Some("Kinder words".to_owned()),
            ..PageUpdated::default()
        })]);
    // A new life at the slug starts up, whatever became of the one before.
    PageTest::with(PageRules::default())
        .given(vec![created("mia"), taken_down("spam"), deleted(), created("mia")])
        .when(answer(Reply::Yes, 0))
        .then_expect_events(vec![
            opened(),
            PageEvent::PageAnswered(PageAnswered { answer: Reply::Yes, dodges: 0 }),
        ]);
}
