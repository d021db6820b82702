//! The generator of `src/phone/plan_data.rs`, the numbering plan `PhoneNumber` reads, from
//! libphonenumber's `PhoneNumberMetadata.xml` (in the package of the `phonenumber`
//! dev-dependency). The test fails when the checked-in tables differ from a fresh generation;
//! `BUYSTER_REGENERATE_PHONE_PLAN=1 cargo test --test suite phone_plan::` writes them anew.

use crate::phone_metadata;

use std::fmt::Write;
use std::path::PathBuf;

use crate::phone_metadata::{Desc, TYPES, Territory};

const REGENERATE: &str = "BUYSTER_REGENERATE_PHONE_PLAN";
const COMMAND: &str = "BUYSTER_REGENERATE_PHONE_PLAN=1 cargo test --test suite phone_plan::";

/// The field of `plan::Territory` for each name of `TYPES`.
const FIELDS: [&str; 10] = [
    "fixed_line",
    "mobile",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "personal_number",
    "voip",
    "pager",
    "uan",
    "voicemail",
];

fn checked_in_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/phone/plan_data.rs")
}

#[test]
fn checked_in_plan_is_the_generated_one() {
    let generated = generate(
        &phone_metadata::territories(),
        &phone_metadata::metadata_version(),
    );
    let path = checked_in_path();
    if std::env::var_os(REGENERATE).is_some() {
        std::fs::write(&path, &generated).unwrap();
        eprintln!("wrote {} ({} bytes)", path.display(), generated.len());
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    if checked_in != generated {
        let first = checked_in
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| checked_in.lines().count().min(generated.lines().count()));
        panic!(
            "{} differs from the tables generated from libphonenumber's metadata, first at line \
             {}:\n  checked in: {:?}\n  generated:  {:?}\nRegenerate with `{COMMAND}` and review \
             the diff.",
            path.display(),
            first + 1,
            checked_in.lines().nth(first).unwrap_or("<end of file>"),
            generated.lines().nth(first).unwrap_or("<end of file>"),
        );
    }
}

#[test]
fn the_metadata_reads_as_libphonenumber_builds_it() {
    let territories = phone_metadata::territories();
    let find = |id: &str| territories.iter().find(|t| t.id == id).unwrap();
    let fr = find("FR");
    assert_eq!(
        (fr.country_code, fr.national_prefix_for_parsing.as_str()),
        (33, "0")
    );
    assert_eq!(fr.general.lengths, [9]);
    let gb = find("GB");
    assert!(gb.main_country_for_code);
    assert_eq!(gb.national_prefix_for_parsing, "0|180020");
    assert_eq!(gb.general.lengths, [7, 9, 10]);
    assert_eq!(gb.general.local_only, [4, 5, 6, 8]);
    assert_eq!(gb.desc("mobile").unwrap().lengths, [10]);
    let ar = find("AR");
    assert_eq!(ar.national_prefix_transform_rule, "9$1");
    assert!(!ar.national_prefix_for_parsing.contains(char::is_whitespace));
    let us = find("US");
    assert!(us.same_mobile_and_fixed_line_pattern());
    // Non-geographic entities: +800 has toll-free numbers only, +882 has mobiles.
    let entity = |code| territories.iter().find(|t| t.country_code == code).unwrap();
    assert_eq!(entity(800).id, "001");
    assert!(entity(800).desc("mobile").is_none() && entity(800).desc("tollFree").is_some());
    assert!(entity(882).desc("mobile").is_some());
    assert_eq!(territories.len(), 254);
}

/// The source of `plan_data.rs`.
fn generate(territories: &[Territory], version: &str) -> String {
    let mut out = String::new();
    writeln!(
        out,
        "//! libphonenumber's numbering plan, one entry per territory: generated from \
         `PhoneNumberMetadata.xml`\n\
         //! of libphonenumber {version} (Apache-2.0, Google; as packaged in the `phonenumber` \
         crate), read as\n\
         //! libphonenumber's `BuildMetadataFromXml` reads it. Do not edit; regenerate with\n\
         //! `{COMMAND}`.\n\
         //!\n\
         //! Patterns are libphonenumber's, whitespace removed. Lengths are national significant \
         number\n\
         //! lengths; a type without lengths of its own has the general description's, which \
         are the union\n\
         //! of its types'. `Desc::NONE`: the territory has no numbers of that type.\n\n\
         use super::territory::{{Desc, Territory}};\n\n\
         pub(super) static TERRITORIES: [Territory; {}] = [",
        territories.len()
    )
    .unwrap();
    for territory in territories {
        render(&mut out, territory);
    }
    out.push_str("];\n");
    out
}

fn render(out: &mut String, t: &Territory) {
    assert!(!t.general.lengths.is_empty(), "{}: no lengths", t.id);
    writeln!(out, "    Territory {{").unwrap();
    writeln!(out, "        id: {:?},", t.id).unwrap();
    writeln!(out, "        country_code: {},", t.country_code).unwrap();
    let flags = [
        ("main_country_for_code", t.main_country_for_code),
        (
            "same_mobile_and_fixed_line_pattern",
            t.same_mobile_and_fixed_line_pattern(),
        ),
    ];
    for (name, value) in flags.into_iter().filter(|(_, value)| *value) {
        writeln!(out, "        {name}: {value},").unwrap();
    }
    let texts = [
        ("leading_digits", &t.leading_digits),
        ("international_prefix", &t.international_prefix),
        (
            "national_prefix_for_parsing",
            &t.national_prefix_for_parsing,
        ),
        (
            "national_prefix_transform_rule",
            &t.national_prefix_transform_rule,
        ),
    ];
    for (name, value) in texts.into_iter().filter(|(_, value)| !value.is_empty()) {
        writeln!(out, "        {name}: {},", literal(value)).unwrap();
    }
    writeln!(out, "        general: {},", desc(&t.general)).unwrap();
    for (field, name) in FIELDS.iter().zip(TYPES) {
        if let Some(d) = t.desc(name) {
            writeln!(out, "        {field}: {},", desc(d)).unwrap();
        }
    }
    writeln!(out, "        ..Territory::EMPTY").unwrap();
    writeln!(out, "    }},").unwrap();
}

fn desc(d: &Desc) -> String {
    assert!(!d.pattern.is_empty(), "a type with lengths and no pattern");
    format!(
        "Desc::new({}, &{:?}, &{:?})",
        literal(&d.pattern),
        d.lengths,
        d.local_only
    )
}

/// A raw string literal, readable as the metadata writes it (`r"\d{8}"`).
fn literal(text: &str) -> String {
    assert!(!text.contains('"'));
    format!("r\"{text}\"")
}
