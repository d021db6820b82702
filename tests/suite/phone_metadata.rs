//! libphonenumber's `PhoneNumberMetadata.xml`, read from the package of the `phonenumber`
//! dev-dependency the way libphonenumber's `BuildMetadataFromXml` reads it: patterns without
//! whitespace, `nationalPrefixForParsing` defaulting to `nationalPrefix`, possible lengths of
//! each number type (a type without its own inherits the general description's; an absent type
//! has none), the general description's lengths the union of its types'.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

/// The number types of a territory, in the order of libphonenumber's `PhoneMetadata`.
pub const TYPES: [&str; 10] = [
    "fixedLine",
    "mobile",
    "tollFree",
    "premiumRate",
    "sharedCost",
    "personalNumber",
    "voip",
    "pager",
    "uan",
    "voicemail",
];

/// One territory (a region, or a non-geographic entity with id `001`).
#[derive(Debug, Clone)]
pub struct Territory {
    pub id: String,
    pub country_code: u16,
    pub main_country_for_code: bool,
    pub leading_digits: String,
    pub international_prefix: String,
    pub national_prefix: String,
    pub national_prefix_for_parsing: String,
    pub national_prefix_transform_rule: String,
    pub general: Desc,
    /// One per name of [`TYPES`], `None` when the territory has no such numbers.
    pub types: Vec<Option<Desc>>,
}

/// A number description: its pattern and possible lengths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desc {
    pub pattern: String,
    /// National lengths, the general description's when the element gives none.
    pub lengths: Vec<u8>,
    pub local_only: Vec<u8>,
    pub example: Option<String>,
}

impl Territory {
    /// The description of the type named `name` (one of [`TYPES`]).
    pub fn desc(&self, name: &str) -> Option<&Desc> {
        let index = TYPES.iter().position(|t| *t == name)?;
        self.types.get(index)?.as_ref()
    }

    /// libphonenumber's `sameMobileAndFixedLinePattern`, which its build computes.
    pub fn same_mobile_and_fixed_line_pattern(&self) -> bool {
        let pattern = |name| {
            self.desc(name)
                .map(|d| d.pattern.clone())
                .unwrap_or_default()
        };
        pattern("mobile") == pattern("fixedLine")
    }
}

/// The `phonenumber` package: its version (`0.3.10+9.0.33`) and directory.
pub fn phonenumber_package() -> (String, PathBuf) {
    let host = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc -vV runs");
    let host = String::from_utf8(host.stdout).unwrap();
    let host = host
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .expect("rustc names its host");
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--offline"])
        .args(["--filter-platform", host])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let package = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "phonenumber")
        .expect("the phonenumber dev-dependency is in the package graph");
    let manifest = PathBuf::from(package["manifest_path"].as_str().unwrap());
    let version = package["version"].as_str().unwrap().to_owned();
    (version, manifest.parent().unwrap().to_owned())
}

/// The libphonenumber release of the metadata: `9.0.33` from `0.3.10+9.0.33`.
pub fn metadata_version() -> String {
    let (version, _) = phonenumber_package();
    version
        .split_once('+')
        .expect("the phonenumber crate's version names libphonenumber's")
        .1
        .to_owned()
}

/// Every territory of the metadata, in the file's order.
pub fn territories() -> Vec<Territory> {
    let (_, dir) = phonenumber_package();
    let path = dir.join("assets").join("PhoneNumberMetadata.xml");
    let xml = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let root = parse_xml(&xml);
    let territories = root.child("territories").expect("<territories>");
    territories
        .children
        .iter()
        .filter(|e| e.name == "territory")
        .map(territory)
        .collect()
}

fn territory(element: &Element) -> Territory {
    let attribute = |name: &str| element.attribute(name).unwrap_or_default().to_owned();
    let national_prefix = attribute("nationalPrefix");
    let mut national_prefix_for_parsing = strip_whitespace(&attribute("nationalPrefixForParsing"));
    if national_prefix_for_parsing.is_empty() {
        national_prefix_for_parsing.clone_from(&national_prefix);
    }
    let general_lengths = general_lengths(element);
    let general = Desc {
        pattern: pattern(element.child("generalDesc").expect("<generalDesc>")),
        lengths: general_lengths.0.clone(),
        local_only: general_lengths.1,
        example: element
            .child("generalDesc")
            .and_then(|e| e.child("exampleNumber"))
            .map(|e| e.text.trim().to_owned()),
    };
    let types = TYPES
        .iter()
        .map(|name| element.child(name).map(|e| desc(e, &general_lengths.0)))
        .collect();
    let checked = |value: String| {
        assert!(!value.contains(char::is_whitespace), "{value:?}");
        value
    };
    Territory {
        id: attribute("id"),
        country_code: attribute("countryCode").parse().unwrap(),
        main_country_for_code: element.attribute("mainCountryForCode") == Some("true"),
        leading_digits: checked(attribute("leadingDigits")),
        international_prefix: checked(attribute("internationalPrefix")),
        national_prefix,
        national_prefix_for_parsing,
        national_prefix_transform_rule: checked(attribute("nationalPrefixTransformRule")),
        general,
        types,
    }
}

fn desc(element: &Element, general: &[u8]) -> Desc {
    let (lengths, local_only) = lengths_of(element);
    assert!(lengths.iter().all(|l| general.contains(l)));
    Desc {
        pattern: pattern(element),
        lengths: if lengths.is_empty() {
            general.to_vec()
        } else {
            lengths.into_iter().collect()
        },
        local_only: local_only.into_iter().collect(),
        example: element
            .child("exampleNumber")
            .map(|e| e.text.trim().to_owned()),
    }
}

fn pattern(element: &Element) -> String {
    element
        .child("nationalNumberPattern")
        .map(|p| strip_whitespace(&p.text))
        .unwrap_or_default()
}

/// The general description's lengths: the union of every type's but `noInternationalDialling`,
/// local-only lengths that are also national ones left out.
fn general_lengths(territory: &Element) -> (Vec<u8>, Vec<u8>) {
    let mut national = BTreeSet::new();
    let mut local = BTreeSet::new();
    for child in &territory.children {
        if child.name == "noInternationalDialling" || child.name == "generalDesc" {
            continue;
        }
        let (n, l) = lengths_of(child);
        national.extend(n);
        local.extend(l);
    }
    let local = local.difference(&national).copied().collect();
    (national.into_iter().collect(), local)
}

fn lengths_of(element: &Element) -> (BTreeSet<u8>, BTreeSet<u8>) {
    let mut national = BTreeSet::new();
    let mut local = BTreeSet::new();
    for lengths in element
        .children
        .iter()
        .filter(|e| e.name == "possibleLengths")
    {
        national.extend(length_list(
            lengths.attribute("national").unwrap_or_default(),
        ));
        local.extend(length_list(
            lengths.attribute("localOnly").unwrap_or_default(),
        ));
    }
    (national, local)
}

/// `"6,[8-10]"`: lengths and ranges of lengths.
fn length_list(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if let Some(range) = part.strip_prefix('[').and_then(|p| p.strip_suffix(']')) {
            let (low, high) = range.split_once('-').unwrap();
            out.extend(low.parse::<u8>().unwrap()..=high.parse::<u8>().unwrap());
        } else {
            assert_ne!(
                part, "-1",
                "the metadata marks absent types by leaving them out"
            );
            out.push(part.parse().unwrap());
        }
    }
    out
}

fn strip_whitespace(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// An element of the document: its name, attributes, child elements and text.
#[derive(Debug, Default)]
pub struct Element {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|e| e.name == name)
    }
}

fn parse_xml(xml: &str) -> Element {
    let mut reader = Reader::from_str(xml);
    let mut stack = vec![Element::default()];
    loop {
        match reader.read_event().unwrap() {
            Event::Start(start) => stack.push(element(&start)),
            Event::Empty(start) => stack.last_mut().unwrap().children.push(element(&start)),
            Event::End(_) => {
                let done = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(done);
            }
            Event::Text(text) => stack.last_mut().unwrap().text += &text.decode().unwrap(),
            Event::CData(text) => stack.last_mut().unwrap().text += &text.decode().unwrap(),
            Event::GeneralRef(reference) => {
                let name = reference.decode().unwrap();
                let character = match name.as_ref() {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    "quot" => '"',
                    "apos" => '\'',
                    other => panic!("unexpected entity &{other};"),
                };
                stack.last_mut().unwrap().text.push(character);
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    let mut document = stack.pop().unwrap();
    assert!(stack.is_empty());
    document.children.pop().expect("a root element")
}

fn element(start: &BytesStart<'_>) -> Element {
    let attributes = start
        .attributes()
        .map(|a| {
            let a = a.unwrap();
            let key = String::from_utf8(a.key.as_ref().to_vec()).unwrap();
            (
                key,
                a.normalized_value(XmlVersion::Explicit1_0)
                    .unwrap()
                    .into_owned(),
            )
        })
        .collect();
    Element {
        name: String::from_utf8(start.name().as_ref().to_vec()).unwrap(),
        attributes,
        ..Element::default()
    }
}
