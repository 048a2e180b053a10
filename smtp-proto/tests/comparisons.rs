//! What an application compares addresses and builds replies with: domains without
//! case (RFC 5321 §2.4), local parts exactly unless the final host chooses otherwise,
//! Postmaster in any case (§4.5.1), and replies that are valid by construction
//! (RFC 5321 §4.2 codes, RFC 3463 §2 classes).

use smtp_proto::{
    Domain, EnhancedCode, ForwardPath, LocalPart, Mailbox, Reply, ReplyCode, ReversePath, Text,
    ValueError,
};
use std::collections::HashSet;

#[test]
fn domains_compare_with_str_without_case() {
    let d = Domain::new("Mail.Example.COM").unwrap();
    assert!(d == "mail.example.com");
    assert!(d == *"MAIL.EXAMPLE.COM");
    assert!("mail.example.com" == d);
    assert!(d != "mail.example.org");
    assert_eq!(d, Domain::new("mail.example.com").unwrap());
    // U-labels (RFC 6531) compare by their lower case too, and hash alike.
    let u = Domain::new("BÜCHER.example").unwrap();
    assert!(u == "bücher.example");
    let set: HashSet<Domain> = [u.clone(), Domain::new("bücher.EXAMPLE").unwrap()].into();
    assert_eq!(set.len(), 1);
    let set: HashSet<Domain> = [d.clone(), Domain::new("MAIL.example.com").unwrap()].into();
    assert_eq!(set.len(), 1);
}

#[test]
fn is_within_is_the_zone_or_below_on_a_label_boundary() {
    let d = |s| Domain::new(s).unwrap();
    assert!(d("example.com").is_within("example.com"));
    assert!(d("example.com").is_within("EXAMPLE.com."));
    assert!(d("a.b.Example.com").is_within("example.com"));
    assert!(!d("badexample.com").is_within("example.com"));
    assert!(!d("example.com").is_within("a.example.com"));
    assert!(!d("com").is_within("example.com"));
    assert!(d("mx.bücher.example").is_within("BÜCHER.example"));
    assert!(!d("xbücher.example").is_within("bücher.example"));
}

#[test]
fn local_parts_compare_exactly_and_postmaster_in_any_case() {
    let m = Mailbox::parse("Bob@Example.COM").unwrap();
    assert!(m.local_part() == "Bob");
    assert!(m.local_part() != "bob");
    assert!(m.local_part().eq_ignore_case("bob"));
    assert!(m.domain().is_some_and(|d| d == "example.com"));
    assert!(m == "Bob@example.com");
    assert!(m != "bob@example.com");
    assert!(m != "not a mailbox");
    // A quoted local part compares by its unquoted value.
    let q = Mailbox::parse("\"a> ORCPT=x\"@example.com").unwrap();
    assert!(q.local_part() == "a> ORCPT=x");
    assert!(q == "\"a> ORCPT=x\"@EXAMPLE.com");
    // Address literals have no domain.
    assert!(Mailbox::parse("u@[192.0.2.1]").unwrap().domain().is_none());
    assert!(LocalPart::new("PostMaster").unwrap().is_postmaster());
    assert!(ForwardPath::Postmaster.is_postmaster());
    let pm = ForwardPath::from(Mailbox::parse("POSTMASTER@example.com").unwrap());
    assert!(pm.is_postmaster() && pm.domain().is_some_and(|d| d == "example.com"));
    let to = ForwardPath::from(m.clone());
    assert!(!to.is_postmaster() && to.domain().is_some_and(|d| d.is_within("example.com")));
    assert!(ReversePath::Null.domain().is_none());
    assert!(
        ReversePath::from(m)
            .domain()
            .is_some_and(|d| d == "EXAMPLE.com")
    );
}

#[test]
fn a_reply_whose_codes_disagree_cannot_be_built() {
    let e511 = EnhancedCode::new(5, 1, 1).unwrap();
    let ok = ReplyCode::new(250).unwrap();
    let err = Reply::new(ok, Some(e511), vec![Text::new("Ok").unwrap()]).unwrap_err();
    assert_eq!(
        err,
        ValueError::EnhancedCodeMismatch {
            code: 250,
            enhanced: e511
        }
    );
    assert_eq!(
        err.to_string(),
        "enhanced code 5.1.1 does not agree with reply code 250"
    );
    assert!(
        Reply::with_text(
            250,
            Some(smtp_proto::EnhancedCode::new(5, 1, 1).unwrap()),
            ["Ok"]
        )
        .is_err()
    );
    for bad in [0, 199, 600, 260, 999] {
        assert!(ReplyCode::new(bad).is_err(), "{bad}");
    }
    assert!(EnhancedCode::new(3, 0, 0).is_err());
    assert!(EnhancedCode::new(2, 1000, 0).is_err());
}

#[test]
fn named_replies_have_agreeing_codes_and_standard_text() {
    for (r, wire) in [
        (Reply::unknown_user(), "550 5.1.1 No such user here"),
        (
            Reply::mailbox_full(),
            "452 4.2.2 Mailbox full, try again later",
        ),
        (Reply::greylisted(), "451 4.7.1 Greylisted, try again later"),
        (Reply::policy_refusal(), "550 5.7.1 Refused by policy"),
        (
            Reply::temporary_failure(),
            "451 4.3.0 Temporary failure, try again later",
        ),
    ] {
        assert_eq!(r.to_string(), wire);
        assert_eq!(r.enhanced().unwrap().class(), r.code().class());
    }
    assert!(Reply::mailbox_full().is_transient() && Reply::greylisted().is_transient());
    assert!(Reply::unknown_user().is_permanent());
    let r = Reply::unknown_user()
        .with_message("No mailbox for bob")
        .unwrap();
    assert_eq!(r.to_string(), "550 5.1.1 No mailbox for bob");
    assert!(Reply::unknown_user().with_message("x\r\n250 Ok").is_err());
    assert_eq!(EnhancedCode::OK.to_string(), "2.0.0");
    assert_eq!(EnhancedCode::UNKNOWN_USER.to_string(), "5.1.1");
}

#[test]
fn reply_text_cannot_carry_another_code_or_pass_512_octets() {
    // A text that starts with an enhanced code of another class would put `250 5.1.1`
    // on the wire.
    let e = Reply::with_text(250, None, ["5.1.1 Refused"]).unwrap_err();
    assert!(
        matches!(e, ValueError::EnhancedCodeMismatch { code: 250, .. }),
        "{e:?}"
    );
    let ok = Some(EnhancedCode::OK);
    assert!(Reply::with_text(250, ok, ["Ok", "5.1.1 second line"]).is_err());
    // The same code at the start of the text is sent once, not twice.
    let r = Reply::with_text(550, Some(EnhancedCode::POLICY_REFUSAL), ["5.7.1 Go away"]).unwrap();
    assert_eq!(r.to_string(), "550 5.7.1 Go away");
    // RFC 5321 §4.5.3.1.5: 512 octets a line, code, enhanced code and CRLF included.
    let fits = "x".repeat(512 - "250 2.0.0 ".len() - 2);
    assert!(Reply::with_text(250, ok, [fits.as_str()]).is_ok());
    let over = format!("{fits}x");
    assert_eq!(
        Reply::with_text(250, ok, [over.as_str()]).unwrap_err(),
        ValueError::TooLong {
            what: "reply line",
            max: 512
        }
    );
    assert!(Reply::policy_refusal().with_message(&over).is_err());
    // 3yz replies carry no enhanced code; a text that looks like one is text.
    assert!(Reply::with_text(354, None, ["2.0.0 go ahead"]).is_ok());
}
