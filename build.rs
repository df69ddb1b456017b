//! Embeds templates/ into release builds (debug builds read them from disk).
fn main() {
    minijinja_embed::embed_templates!("templates", &[".html"][..]);
}
