//! The tables do not depend on the C library: a sweep over every generator and every sampler,
//! with AIS, diagnostics and samples on, gives the same tables when the C library's maths
//! functions are moved one ulp (`tests/fixtures/shift_libm.c`, loaded with `LD_PRELOAD`), and
//! when glibc runs the code it has for CPUs without FMA; and it calls none of those functions.

use crate::common::*;
use grbm_sweep::data::GENERATORS;
use grbm_sweep::train::sampler::Sampler;
use polars_core::prelude::*;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Tiny runs of every data set and sampler (two seeds, so configs.parquet has intervals): two
/// epochs with checkpoints at each, AIS, diagnostics and samples on, a small log Z grid.
fn experiment() -> String {
    let quoted = |names: Vec<&str>| -> String {
        let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
        quoted.join(", ")
    };
    let samplers = quoted(Sampler::ALL.iter().map(|s| s.name()).collect());
    format!(
        "name = \"clib\"\n\n\
         [data]\nsource = [{}]\nn_train = 200\nn_test = 100\nn_valid = 100\nseed = 0\n\n\
         [train]\nhidden = 3\nepochs = 2\nbatch_size = 50\nk = 2\nreplicas = 3\nlangevin_steps = 2\n\n\
         [eval]\nevery = 1\nsamples = 50\nchain_steps = 5\nthin = 2\n\
         grid_points = 64\nais_steps = [5]\nais_chains = 10\ndiagnostics = true\n\n\
         [grid]\nsampler = [{samplers}]\nseed = [0, 1]\n",
        quoted(GENERATORS.to_vec()),
    )
}

/// The C compiler of `CC`, else `cc`, if it runs.
fn c_compiler() -> Option<String> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let runs = Command::new(&cc).arg("--version").output();
    runs.is_ok_and(|out| out.status.success()).then_some(cc)
}

/// Compiles the fixture `source` with `args` into `out`; a compiler that fails is a failure.
fn compile(cc: &str, source: &str, out: &Path, args: &[&str]) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(source);
    let built = Command::new(cc)
        .args(args)
        .arg("-o")
        .arg(out)
        .arg(&fixture)
        .args(["-ldl", "-lm"])
        .output()
        .expect("the C compiler runs");
    assert!(built.status.success(), "{cc} {source}: {}", stderr(&built));
}

/// The columns of `table` in which `a` and `b` differ, with how many rows differ (floats bit
/// for bit), leaving out the timing columns (`*seconds*`), which differ between any two runs.
fn differing_columns(table: &str, a: &DataFrame, b: &DataFrame) -> Vec<String> {
    assert_eq!(a.get_column_names(), b.get_column_names(), "{table}");
    assert_eq!(a.height(), b.height(), "{table}");
    let mut differ = Vec::new();
    for (x, y) in a.columns().iter().zip(b.columns()) {
        if x.name().contains("seconds") {
            continue;
        }
        let (x, y) = (x.as_materialized_series(), y.as_materialized_series());
        let rows = if let (Ok(x), Ok(y)) = (x.f64(), y.f64()) {
            let bits = |v: Option<f64>| v.map(f64::to_bits);
            x.iter()
                .zip(y.iter())
                .filter(|(p, q)| bits(*p) != bits(*q))
                .count()
        } else {
            usize::from(!x.equals_missing(y))
        };
        if rows > 0 {
            differ.push(format!(
                "{table} {} ({rows} of {} rows)",
                x.name(),
                a.height()
            ));
        }
    }
    differ
}

/// The real glibc's other answers: with this tunable it takes the exp, log, pow, sin and cos
/// it runs on CPUs without fused multiply-adds, whose last bits differ from those of the code
/// it picks on CPUs with them (other C libraries ignore the variable).
const GLIBC_WITHOUT_FMA: (&str, &str) = ("GLIBC_TUNABLES", "glibc.cpu.hwcaps=-AVX2,-FMA,-AVX512F");

/// Runs the experiment in a new folder `name` of `dir` with the environment variables `env`;
/// its results folder, and the counts of the calls the preloaded library moved, by function.
fn sweep(dir: &Path, name: &str, env: &[(&str, &OsStr)]) -> (PathBuf, String) {
    let dir = dir.join(name);
    std::fs::create_dir(&dir).unwrap();
    write(&dir, "e.toml", &experiment());
    let counts = dir.join("moved-calls.txt");
    let mut cmd = command(&dir, &["e.toml", "--quiet"]);
    cmd.envs(env.iter().copied())
        .env("SHIFT_LIBM_COUNTS", &counts);
    let out = cmd.output().expect("the binary runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let counts = std::fs::read_to_string(&counts).unwrap_or_default();
    (dir.join("results/clib"), counts.trim().replace('\n', ", "))
}

#[test]
fn tables_are_the_same_whatever_the_c_library_returns() {
    const TEST: &str = "clib::tables_are_the_same_whatever_the_c_library_returns";
    if !cfg!(target_os = "linux") {
        return skipped(
            TEST,
            "LD_PRELOAD, which moves the C library's results, is Linux's",
        );
    }
    let Some(cc) = c_compiler() else {
        return skipped(
            TEST,
            "no C compiler (cc, or $CC) to build tests/fixtures/shift_libm.c",
        );
    };
    let dir = tempdir();
    let library: PathBuf = dir.path().join("libshift_libm.so");
    compile(&cc, "shift_libm.c", &library, &["-shared", "-fPIC", "-O2"]);
    let probe = dir.path().join("shift_probe");
    compile(&cc, "shift_probe.c", &probe, &["-O2"]);

    // The preload moves what a program linked against this C library computes, or the
    // comparison below would prove nothing.
    let plain = Command::new(&probe).output().expect("the probe runs");
    let moved = Command::new(&probe)
        .env("LD_PRELOAD", &library)
        .output()
        .expect("the probe runs");
    let (plain, moved) = (
        String::from_utf8_lossy(&plain.stdout),
        String::from_utf8_lossy(&moved.stdout),
    );
    assert_eq!(plain.split_whitespace().count(), 4, "{plain}");
    for (p, m) in plain.split_whitespace().zip(moved.split_whitespace()) {
        assert_ne!(
            p, m,
            "the preload did not move exp, log, sin, cos: {plain} / {moved}"
        );
    }

    let (plain, _) = sweep(dir.path(), "plain", &[]);
    let (preload, glibc) = (
        [("LD_PRELOAD", library.as_os_str())],
        [(GLIBC_WITHOUT_FMA.0, OsStr::new(GLIBC_WITHOUT_FMA.1))],
    );
    let mut differ = Vec::new();
    for (name, env) in [("shifted", &preload[..]), ("without-fma", &glibc[..])] {
        let (results, calls) = sweep(dir.path(), name, env);
        for table in TABLES.into_iter().chain(["ais.parquet"]) {
            let (a, b) = (read(&plain.join(table)), read(&results.join(table)));
            let columns = differing_columns(table, &a, &b);
            differ.extend(columns.into_iter().map(|c| format!("{name}: {c}")));
        }
        // A call that moved no number of this small sweep could move one of a larger sweep.
        if !calls.is_empty() {
            differ.push(format!("{name}: the sweep called the C library's {calls}"));
        }
    }
    assert!(
        differ.is_empty(),
        "with the C library's maths one ulp away (shifted), or glibc's code for CPUs without \
         FMA (without-fma), these columns change (or calls go to the C library):\n  {}",
        differ.join("\n  ")
    );
}
