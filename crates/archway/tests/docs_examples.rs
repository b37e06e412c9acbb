//! Every ```toml example in README.md and docs/*.md is a valid archway configuration.

use std::path::{Path, PathBuf};

use archway::config::Config;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The ```toml blocks of a Markdown text, with the line each starts on.
fn toml_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, line) in markdown.lines().enumerate() {
        let fence = line.trim_start();
        match &mut current {
            None if fence.starts_with("```toml") => current = Some((index + 1, String::new())),
            Some(_) if fence.starts_with("```") => blocks.extend(current.take()),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    blocks
}

#[test]
fn every_toml_example_in_the_docs_loads() {
    let root = workspace_root();
    let mut documents = vec![root.join("README.md")];
    let docs = std::fs::read_dir(root.join("docs")).expect("docs/ exists");
    for entry in docs {
        let path = entry.expect("docs/ entry").path();
        if path.extension().is_some_and(|extension| extension == "md") {
            documents.push(path);
        }
    }
    let mut checked = 0;
    for document in documents {
        let markdown = std::fs::read_to_string(&document).expect("readable doc");
        for (line, example) in toml_blocks(&markdown) {
            let project = tempfile::tempdir().expect("temp dir");
            std::fs::write(project.path().join("archway.toml"), &example).expect("write");
            let no_env = |_: &str| None;
            if let Err(error) = Config::load_with(project.path(), None, no_env) {
                panic!(
                    "{}:{line}: the example does not load: {error}\n{example}",
                    document.display()
                );
            }
            checked += 1;
        }
    }
    // docs/configuration.md has several; finding none means the extraction broke.
    assert!(checked >= 3, "only {checked} toml examples found");
}

#[test]
fn toml_blocks_finds_fenced_toml_only() {
    let markdown = "text\n```toml\na = 1\n```\n```sh\nls\n```\n  ```toml\nb = 2\n  ```\n";
    assert_eq!(
        toml_blocks(markdown),
        [(2, "a = 1\n".to_string()), (8, "b = 2\n".to_string())]
    );
}
