//! error: E0277
// Secrets have no Display: they cannot end up in a format string by accident.
fn main() {
    let a: buyster::Pin = "123456".parse().unwrap();
    println!("{a}");
}
