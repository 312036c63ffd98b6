//! Records what the binary is built from, for the provenance of every table it writes: the git
//! commit (with `-dirty` when the sources differ from it, `unknown` outside a checkout) and the
//! rustc version.

use std::path::Path;
use std::process::Command;

fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    // The sources that make the binary: a change to any of them (or a commit) is a new commit
    // or a dirty one. Nothing else reruns this script, so the two commands share one build.
    const SOURCES: [&str; 5] = ["src", "assets", "Cargo.toml", "Cargo.lock", "build.rs"];
    for path in SOURCES {
        println!("cargo:rerun-if-changed={path}");
    }
    let commit = match output("git", &["rev-parse", "HEAD"]) {
        Some(hash) => {
            for key in ["--git-dir", "--git-common-dir"] {
                if let Some(dir) = output("git", &["rev-parse", key]) {
                    for file in ["HEAD", "index", "packed-refs", "refs/heads"] {
                        let path = Path::new(&dir).join(file);
                        println!("cargo:rerun-if-changed={}", path.display());
                    }
                }
            }
            // --no-optional-locks: a status that refreshed the index would rerun this script.
            let mut status = vec![
                "--no-optional-locks",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
            ];
            status.extend(SOURCES);
            match output("git", &status) {
                Some(changes) if !changes.is_empty() => format!("{hash}-dirty"),
                _ => hash,
            }
        }
        None => "unknown".to_string(),
    };
    println!("cargo:rustc-env=GRBM_SWEEP_COMMIT={commit}");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = output(&rustc, &["--version"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=GRBM_SWEEP_RUSTC={version}");
}
