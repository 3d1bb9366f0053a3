//! The README's table of settings is the settings table's own: a setting
//! added, removed or changed without the README is caught here.
//! `CULPRIT_UPDATE_README=1 cargo test -p culprit-exec --test
//! readme_settings` writes the table into the README.

const BEGIN: &str = "<!-- settings: begin (made from crates/exec/src/settings/table.rs) -->\n";
const END: &str = "<!-- settings: end -->\n";

#[test]
fn the_readme_shows_every_setting_as_the_table_defines_it() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let table = culprit_exec::settings::table::markdown();
    let (Some(start), Some(end)) = (readme.find(BEGIN), readme.find(END)) else {
        panic!("README.md lacks the markers {BEGIN:?} and {END:?}");
    };
    let shown = &readme[start + BEGIN.len()..end];
    if shown == table {
        return;
    }
    if std::env::var_os("CULPRIT_UPDATE_README").is_some() {
        let updated = format!("{}{BEGIN}{table}{}", &readme[..start], &readme[end..]);
        std::fs::write(&path, updated).expect("write README.md");
        return;
    }
    panic!(
        "README.md's settings table is not the table's; run CULPRIT_UPDATE_README=1 cargo test -p culprit-exec --test readme_settings\nexpected:\n{table}"
    );
}
