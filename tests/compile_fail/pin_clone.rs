//! error: E0599
// Secrets cannot be copied around.
fn main() {
    let a: buyster::Pin = "123456".parse().unwrap();
    let _b = a.clone();
}
