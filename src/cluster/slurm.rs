//! Writing ready Slurm batch scripts for a sweep: an array job of shards and a merge job that waits for it.

use std::path::{Path, PathBuf};

/// The choices of `grbm-sweep slurm`.
#[derive(Debug, Clone)]
pub struct SlurmOptions {
    /// Array tasks (= shards).
    pub tasks: usize,
    pub cpus_per_task: usize,
    /// `--time` of each task, in Slurm's format (e.g. `02:00:00`).
    pub time: Option<String>,
    pub partition: Option<String>,
    /// At most this many array tasks at once (`%M`).
    pub max_concurrent: Option<usize>,
    pub account: Option<String>,
    /// Times the array job runs, one after the other: the rungs of a halving search (each
    /// task computes its shard's share of the lowest rung not done yet), else 1.
    pub rungs: usize,
    /// The `--set KEY=VALUE` settings every task runs the experiment with.
    pub sets: Vec<String>,
}

/// The scripts written and the command that submits them.
#[derive(Debug)]
pub struct SlurmScripts {
    pub array: PathBuf,
    pub merge: PathBuf,
    pub submit: PathBuf,
    pub command: String,
}

/// How long before a task's time limit Slurm sends it SIGTERM (Slurm may send it up to a
/// minute early): time for the runs in progress to end their epoch and save their state.
pub const SIGNAL_SECONDS_BEFORE_LIMIT: u32 = 300;

fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}

fn common_lines(opts: &SlurmOptions) -> String {
    let mut lines = String::new();
    for (key, value) in [
        ("time", &opts.time),
        ("partition", &opts.partition),
        ("account", &opts.account),
    ] {
        if let Some(v) = value {
            lines.push_str(&format!("#SBATCH --{key}={v}\n"));
        }
    }
    lines
}

/// `submit.sh`: the array job `rungs` times, each after every task of the one before
/// succeeded, then the merge job.
fn submit_script(array: &Path, merge: &Path, rungs: usize) -> String {
    format!(
        "#!/bin/bash\n\
         # Submits the array job {rungs} time(s), each after every task of the one before\n\
         # succeeded (a halving search's rungs are barriers), then the merge job after the last.\n\
         # Extra arguments go to the merge's sbatch (e.g. --wait).\n\
         set -euo pipefail\n\
         dependency=()\n\
         for rung in $(seq 1 {rungs}); do\n\
         \x20 array_job=$(sbatch --parsable \"${{dependency[@]}}\" {array})\n\
         \x20 array_job=${{array_job%%;*}}\n\
         \x20 echo \"submitted array job $array_job ($rung of {rungs})\"\n\
         \x20 dependency=(--dependency=afterok:$array_job)\n\
         done\n\
         sbatch \"${{dependency[@]}}\" \"$@\" {merge}\n",
        array = quote(array),
        merge = quote(merge),
    )
}

/// Writes `<results>/slurm/{array,merge}.sbatch` and `submit.sh` for the experiment at `experiment`
/// (absolute paths throughout, so the jobs run from any folder). `binary` is the grbm-sweep to run,
/// which the compute nodes must be able to reach at that path.
pub fn write_scripts(
    name: &str,
    experiment: &Path,
    results: &Path,
    workdir: &Path,
    binary: &Path,
    opts: &SlurmOptions,
) -> std::io::Result<SlurmScripts> {
    let dir = results.join("slurm");
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs)?;
    let concurrency = opts
        .max_concurrent
        .map_or(String::new(), |m| format!("%{m}"));
    let array_text = format!(
        "#!/bin/bash\n\
         # Shards of the sweep {name}: array task I computes shard I of {tasks} (grbm-sweep reads\n\
         # SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT). Resubmitting resumes each shard.\n\
         # A halving search runs it once per rung: each time, a task computes its share of the\n\
         # lowest rung not done yet.\n\
         #SBATCH --job-name=grbm-{name}\n\
         #SBATCH --array=0-{last}{concurrency}\n\
         #SBATCH --cpus-per-task={cpus}\n\
         #SBATCH --ntasks=1\n\
         {common}\
         #SBATCH --output={logs}/task-%A_%a.out\n\
         #SBATCH --chdir={workdir}\n\
         # SIGTERM {warn} s before the time limit (to this shell, which exec makes grbm-sweep): the\n\
         # runs in progress save their state at the end of their epoch, and a resubmission\n\
         # continues them.\n\
         #SBATCH --signal=B:TERM@{warn}\n\
         exec {binary} run {experiment}{sets} --quiet --threads \"${{SLURM_CPUS_PER_TASK:-{cpus}}}\"\n",
        tasks = opts.tasks,
        warn = SIGNAL_SECONDS_BEFORE_LIMIT,
        last = opts.tasks - 1,
        cpus = opts.cpus_per_task,
        common = common_lines(opts),
        logs = logs.display(),
        workdir = workdir.display(),
        binary = quote(binary),
        experiment = quote(experiment),
        sets = (opts.sets.iter())
            .map(|set| format!(" --set {}", quote(Path::new(set))))
            .collect::<String>(),
    );
    let merge_text = format!(
        "#!/bin/bash\n\
         # Builds the tables of the sweep {name} from every shard's results.\n\
         #SBATCH --job-name=grbm-{name}-merge\n\
         #SBATCH --cpus-per-task=1\n\
         #SBATCH --ntasks=1\n\
         {common}\
         #SBATCH --output={logs}/merge-%j.out\n\
         #SBATCH --chdir={workdir}\n\
         exec {binary} merge {results}\n",
        common = common_lines(opts),
        logs = logs.display(),
        workdir = workdir.display(),
        binary = quote(binary),
        results = quote(results),
    );
    let array = dir.join("array.sbatch");
    let merge = dir.join("merge.sbatch");
    let submit = dir.join("submit.sh");
    let submit_text = submit_script(&array, &merge, opts.rungs);
    std::fs::write(&array, array_text)?;
    std::fs::write(&merge, merge_text)?;
    std::fs::write(&submit, submit_text)?;
    Ok(SlurmScripts {
        command: format!("bash {}", quote(&submit)),
        array,
        merge,
        submit,
    })
}
