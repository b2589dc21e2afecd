use super::*;

#[test]
fn the_not_blank_pattern_matches_exactly_what_trim_keeps() {
    let pattern = regex::Regex::new(&format!("^{NOT_BLANK_PATTERN}$")).unwrap();
    for c in (0..=0x10FFFF).filter_map(char::from_u32) {
        let text = c.to_string();
        let kept = !text.trim().is_empty();
        assert_eq!(pattern.is_match(&text), kept, "U+{:04X}", u32::from(c));
    }
}

#[test]
fn descriptions_are_built_from_the_numbers() {
    assert_eq!(PERSON_NAME.describe(), "1 to 100 characters.");
    assert_eq!(EMAIL.describe(), "At most 254 characters.");
    assert_eq!(TAGS.describe(), "At most 20 entries.");
    assert_eq!(CASELOAD.describe(), "0 to 500.");
    assert_eq!(
        described("Digits.", PHONE.describe()),
        "Digits. 3 to 40 characters."
    );
}

#[test]
fn both_ends_of_a_limit_are_allowed_and_nothing_past_them() {
    let text = |length: usize| PASSWORD.check(&"a".repeat(length));
    assert_eq!(text(11), Err("must be at least 12 characters".into()));
    assert!(text(12).is_ok() && text(256).is_ok());
    assert_eq!(text(257), Err("must be at most 256 characters".into()));
    assert_eq!(PERSON_NAME.check(""), Err("must not be empty".into()));
    assert!(SEARCH.check("").is_ok());
    assert!(TAGS.check(20).is_ok());
    assert_eq!(TAGS.check(21), Err("must have at most 20 entries".into()));
    assert!(CASELOAD.check(0).is_ok() && CASELOAD.check(500).is_ok());
    assert!(CASELOAD.check(-1).is_err() && CASELOAD.check(501).is_err());
}

#[test]
fn characters_are_counted_not_bytes() {
    assert!(PRONOUNS.check(&"é".repeat(50)).is_ok());
    assert!(PRONOUNS.check(&"é".repeat(51)).is_err());
}
