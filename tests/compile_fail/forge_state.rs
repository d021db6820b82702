//! error: E0277
// The states are sealed: no new state can be added from outside.
#[derive(Debug)]
struct Paid;

impl buyster::State for Paid {
    const KIND: buyster::StateKind = buyster::StateKind::Confirmed;
}

fn main() {}
